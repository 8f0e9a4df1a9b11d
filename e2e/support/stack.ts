import type { Browser } from 'playwright-core';
import { launchChromium } from './browser.js';
import { startChorusServer, type E2eServer } from './chorus-server.js';
import { freePort } from './processes.js';
import { startWebApp, type E2eWebApp } from './web-app.js';

/** What most e2e files run against: a Chorus server, the web app serving `taskId`, and Chromium. */
export interface E2eStack {
  readonly server: E2eServer;
  readonly web: E2eWebApp;
  readonly browser: Browser;
  /** Closes the browser, then the web app, then the server. */
  stop(): Promise<void>;
}

/**
 * Starts the stack in the usual order: the server (listing the web app's origin), then `prepare`
 * (tasks, keys: whatever the page needs to exist), then the web app and the browser.
 */
export async function startE2eStack(taskId: string, options: { demo?: boolean; prepare?: (server: E2eServer) => Promise<void> } = {}): Promise<E2eStack> {
  const webPort = await freePort();
  const server = await startChorusServer({ corsOrigin: `http://127.0.0.1:${webPort}`, ...(options.demo ? { demo: true } : {}) });
  let web: E2eWebApp | undefined;
  try {
    await options.prepare?.(server);
    web = await startWebApp({ port: webPort, serverUrl: server.url, taskId });
    const browser = await launchChromium();
    const started = web;
    return {
      server,
      web: started,
      browser,
      async stop() {
        await browser.close().catch(() => undefined);
        await started.stop();
        await server.stop();
      },
    };
  } catch (err) {
    await web?.stop();
    await server.stop();
    throw err;
  }
}
