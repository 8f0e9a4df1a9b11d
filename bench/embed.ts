/**
 * Size of the partner script-tag loader, built fresh with the production Vite config.
 * - loaderRawBytes: public/embed.js as served.
 * - loaderGzipBytes: the same, gzip level 9 (what a partner's visitor downloads); budget 6 KB.
 * - loaderBudgetRatio: loaderGzipBytes / 6144 (must stay ≤ 1).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

const ROOT = path.resolve(import.meta.dirname, '..');
const BUDGET_BYTES = 6 * 1024;

export async function run(): Promise<Record<string, unknown>> {
  process.stderr.write('embed: building public/embed.js…\n');
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '-c', 'packages/embed/vite.config.ts'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  const bytes = readFileSync(path.join(ROOT, 'public/embed.js'));
  const gzip = gzipSync(bytes, { level: 9 }).length;
  return {
    loaderRawBytes: bytes.length,
    loaderGzipBytes: gzip,
    loaderBudgetRatio: Math.round((gzip / BUDGET_BYTES) * 1000) / 1000,
  };
}
