/**
 * Whether apps/web has a production build newer than every source it is made from (the app and the
 * packages it bundles). Shared by `npm start` and the e2e harness so neither serves a stale build
 * after a `git pull`.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export const REPO_ROOT = path.resolve(import.meta.dirname, '..');
export const WEB_DIR = path.join(REPO_ROOT, 'apps/web');

/** Newest modification time of the files below `dir` (build output and dependencies skipped). */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === '.next' || entry.name === 'public') continue;
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

export function webBuildIsFresh(webDir = WEB_DIR): boolean {
  const buildId = path.join(webDir, '.next/BUILD_ID');
  const sources = [webDir, ...['client', 'core', 'ml', 'embed'].map((p) => path.join(REPO_ROOT, 'packages', p, 'src'))];
  return (
    existsSync(buildId) &&
    existsSync(path.join(webDir, 'public/data/mnist/index.json')) &&
    statSync(buildId).mtimeMs > Math.max(...sources.map(newestSource))
  );
}
