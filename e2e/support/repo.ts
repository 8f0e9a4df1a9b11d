import path from 'node:path';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
/** The web app to build and serve; CHORUS_E2E_WEB_DIR points at another built copy (e.g. while apps/web/.next is in use). */
export const WEB_DIR = process.env.CHORUS_E2E_WEB_DIR ? path.resolve(process.env.CHORUS_E2E_WEB_DIR) : path.join(REPO_ROOT, 'apps/web');
