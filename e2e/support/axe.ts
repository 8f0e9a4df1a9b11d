import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import type { AxeResults } from 'axe-core';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
/** Findings a person relying on a screen reader or on contrast would be blocked by. */
const BLOCKING = new Set(['serious', 'critical']);
/** Rules axe ranks lower that these pages once broke and must not break again. */
const GUARDED_RULES = new Set(['empty-table-header']);
const fails = (v: { id: string; impact?: string | null }) => BLOCKING.has(v.impact ?? '') || GUARDED_RULES.has(v.id);

/** Runs axe in the page (open shadow roots included) and returns one line per failing finding. */
export async function axeAudit(page: Page, name: string): Promise<string[]> {
  // Next.js streams a dynamic page's metadata after its body, so the <title> can land a moment after
  // the content a test waited for. Give it that moment; a page that never gets one still fails below.
  await page.waitForFunction(() => document.title.trim().length > 0, null, { timeout: 10_000 }).catch(() => undefined);
  await page.addScriptTag({ content: AXE_SOURCE });
  const results = await page.evaluate(() => (window as unknown as { axe: { run(): Promise<AxeResults> } }).axe.run());
  const minor = results.violations.filter((v) => !fails(v)).map((v) => `${v.id} (${v.impact}, ${v.nodes.length})`);
  if (minor.length > 0) console.log(`axe, ${name}, not failing the test: ${minor.join(', ')}`);
  return results.violations
    .filter(fails)
    .flatMap((v) => v.nodes.map((n) => `${name}: ${v.id} (${v.impact}) at ${JSON.stringify(n.target)}: ${v.help}`));
}
