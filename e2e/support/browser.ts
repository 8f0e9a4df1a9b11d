import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT } from './repo.js';

/** Flags measured to work in headless Debian Chromium (DESIGN.md); WebGPU needs the unsafe flag. */
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--enable-unsafe-webgpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Background tabs must keep training in tests (pages in other contexts count as hidden otherwise).
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

export function chromiumPath(): string {
  return execFileSync('bash', [path.join(REPO_ROOT, 'scripts/ensure-chromium.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/**
 * Playwright's own --disable-features list (playwright-core chromiumSwitches) minus
 * ThirdPartyStoragePartitioning. Chromium keeps the last --disable-features it is given, so passing
 * this restores a visitor's default: a frame on another site gets partitioned storage. Playwright's
 * default launch instead refuses it storage (like "block third-party cookies").
 */
const VISITOR_DISABLED_FEATURES = [
  'AvoidUnnecessaryBeforeUnloadCheckSync', 'DestroyProfileOnBrowserClose', 'HttpsUpgrades', 'HttpsFirstBalancedModeAutoEnable', 'LensOverlay',
  'MediaRouter', 'PaintHolding', 'AvoidCorsURLLoaderRestartOnRedirect', 'TcpPortRandomizationWin', 'OptimizationHints', 'NetworkTimeServiceQuerying',
  'AimEnabled', 'PreconnectToSearch',
];

/** Chromium as a visitor has it: third-party storage partitioned, not blocked. */
export async function launchChromiumAsVisitor(extraArgs: string[] = []): Promise<Browser> {
  return launchChromium([`--disable-features=${VISITOR_DISABLED_FEATURES.join(',')}`, ...extraArgs]);
}

export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: [...ARGS, ...extraArgs] });
}

export interface ParticipantPage {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly errors: string[];
  text(testId: string): Promise<string>;
  number(testId: string): Promise<number>;
}

/** A fresh context (its own IndexedDB, storage and Web Locks) with the participant page open. */
export async function openParticipant(
  browser: Browser,
  url: string,
  options: { query?: string; consent?: boolean; context?: BrowserContext; beforeGoto?: (page: Page, context: BrowserContext) => Promise<void> | void } = {},
): Promise<ParticipantPage> {
  const context = options.context ?? (await browser.newContext());
  const page = await context.newPage();
  await options.beforeGoto?.(page, context);
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${url}/${options.query ? `?${options.query}` : ''}`);
  if (options.consent !== false) await page.getByTestId('consent-accept').click();
  const text = async (testId: string) => (await page.getByTestId(testId).textContent()) ?? '';
  return {
    context,
    page,
    errors,
    text,
    number: async (testId) => Number((await text(testId)).replace(/[^\d.]/g, '')),
  };
}

/** Polls until `check` returns a value (not undefined/false), or fails naming `what`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number, intervalMs = 250): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}
