/**
 * The server over HTTPS and WSS with a certificate generated for this run: the participant page and
 * a partner site's script tag, in real Chromium (which trusts only that certificate's key), each
 * train a round over TLS, and the server commits a new model version.
 */
import { Agent, setGlobalDispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { generateTestCertificate, type TestCertificate } from '../apps/server/src/tls/test-certificate.js';
import { partnerPage, startPartnerSite, type PartnerSite } from './fixtures/partner-site.js';
import { createTask, listVersions, putPartnerKey, startChorusServer, type E2eServer } from './support/chorus-server.js';
import { eventually, launchChromium, openParticipant } from './support/browser.js';
import { freePort } from './support/processes.js';
import { startWebApp, type E2eWebApp } from './support/web-app.js';

const TASK = 'mnist-tls';
const KEY = 'pk_tls';
let cert: TestCertificate;
let partner: PartnerSite;
let server: E2eServer;
let web: E2eWebApp;
let browser: Browser;

beforeAll(async () => {
  cert = generateTestCertificate();
  // This process (readiness checks, creating the task) trusts the generated certificate, as the
  // browser and the web app do below; nothing here turns certificate checks off.
  setGlobalDispatcher(new Agent({ connect: { ca: cert.certPem } }));
  const webPort = await freePort();
  server = await startChorusServer({ corsOrigin: `http://127.0.0.1:${webPort}`, tls: { certPath: cert.certPath, keyPath: cert.keyPath } });
  // One browser is enough for a round: tiny 2NN task.
  await createTask(server.url, TASK, { targetClients: 1, minClients: 1, minAvailable: 1, deadlineMs: 30_000 });
  // The web app's server side asks the Chorus server which origins may frame the embed: it must trust the certificate too.
  web = await startWebApp({ port: webPort, serverUrl: server.url, taskId: TASK, env: { NODE_EXTRA_CA_CERTS: cert.certPath } });
  partner = await startPartnerSite(partnerPage(web.url, TASK, KEY));
  await putPartnerKey(server.url, KEY, { name: 'TLS partner', allowedOrigins: [partner.url], allowedTasks: [TASK], quotaPerDay: 10 });
  browser = await launchChromium([`--ignore-certificate-errors-spki-list=${cert.spkiHash}`]);
});

afterAll(async () => {
  await browser?.close();
  await partner?.stop();
  await web?.stop();
  await server?.stop();
});

describe('the server over TLS', () => {
  it('trains a round with a browser over HTTPS and WSS, every server response carrying HSTS', async () => {
    // Prepare
    expect(server.url).toMatch(/^https:\/\//);
    const sockets: string[] = [];
    const fromServer: { url: string; hsts: string | null }[] = [];
    const p = await openParticipant(browser, web.url, {
      query: 'backend=wasm',
      beforeGoto: (page) => {
        page.on('websocket', (ws) => sockets.push(ws.url()));
        page.on('response', (res) => {
          if (res.url().startsWith(server.url)) fromServer.push({ url: res.url(), hsts: res.headers()['strict-transport-security'] ?? null });
        });
      },
    });

    try {
      // Execute
      const committed = await eventually('a model version committed over TLS', async () => (await listVersions(server.url, TASK)).find((v) => v.version >= 1), 180_000, 1_000);
      await eventually('the page counting its round', async () => (await p.number('stat-rounds')) >= 1, 60_000);

      // Assert
      expect(committed.round).toBeGreaterThanOrEqual(1);
      expect(sockets.length).toBeGreaterThan(0);
      expect(sockets.every((u) => u.startsWith(`wss://127.0.0.1:${server.port}/`))).toBe(true);
      expect(fromServer.length).toBeGreaterThan(0);
      expect(fromServer.filter((r) => r.hsts !== 'max-age=15552000')).toEqual([]);
      expect(p.errors).toEqual([]);
    } finally {
      await p.context.close();
    }
  });

  it('lets a partner site\'s script tag contribute a round over WSS', async () => {
    // Prepare
    const context = await browser.newContext();
    const page = await context.newPage();
    const sockets: string[] = [];
    const errors: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    page.on('pageerror', (err) => errors.push(err.message));
    try {
      await page.goto(`${partner.url}/`);
      const before = Math.max(0, ...(await listVersions(server.url, TASK)).map((v) => v.version));

      // Execute
      await page.getByRole('button', { name: 'Yes, contribute' }).click();

      // Assert
      await eventually('a new version from the embedded participant', async () => Math.max(0, ...(await listVersions(server.url, TASK)).map((v) => v.version)) > before, 120_000, 1_000);
      expect(sockets.some((u) => u.startsWith(`wss://127.0.0.1:${server.port}/`))).toBe(true);
      expect(sockets.filter((u) => u.startsWith('ws:'))).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
