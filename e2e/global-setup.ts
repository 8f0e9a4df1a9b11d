import { chromiumPath } from './support/browser.js';
import { ensureWebBuild } from './support/web-app.js';

/** Once per e2e run: a Chromium to drive (installed if needed) and a production build of the web app. */
export default function setup(): void {
  const chrome = chromiumPath();
  console.log(`e2e: driving ${chrome}`);
  ensureWebBuild();
}
