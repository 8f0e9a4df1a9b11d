import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { partnerPage, startPartnerSite, type PartnerSite } from './fixtures/partner-site.js';
import { eventually, launchChromium } from './support/browser.js';
import { createTask, listVersions, putPartnerKey, startChorusServer, type E2eServer } from './support/chorus-server.js';
import { freePort } from './support/processes.js';
import { REPO_ROOT } from './support/repo.js';
import { startWebApp, type E2eWebApp } from './support/web-app.js';

/**
 * The script tag on partner sites: a page on one origin (127.0.0.1:A) embeds Chorus from the web
 * app's origin (127.0.0.1:B); the key allows only A. A second partner (127.0.0.1:C) uses the same tag.
 */
const TASK = 'mnist-embed';
const KEY = 'pk_e2e';
let server: E2eServer;
let web: E2eWebApp;
let allowed: PartnerSite;
let stranger: PartnerSite;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  const webPort = await freePort();
  server = await startChorusServer({ corsOrigin: `http://127.0.0.1:${webPort}` });
  // One visitor is enough for a round: tiny 2NN task, short deadline.
  await createTask(server.url, TASK, { targetClients: 1, minClients: 1, minAvailable: 1, deadlineMs: 20_000 });
  web = await startWebApp({ port: webPort, serverUrl: server.url, taskId: TASK });
  const html = partnerPage(web.url, TASK, KEY);
  allowed = await startPartnerSite(html);
  stranger = await startPartnerSite(html);
  await putPartnerKey(server.url, KEY, { name: 'E2E partner', allowedOrigins: [allowed.url], allowedTasks: [TASK], quotaPerDay: 10 });
  browser = await launchChromium();
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await allowed?.stop();
  await stranger?.stop();
  await web?.stop();
  await server?.stop();
});

/** A fresh visitor on `site`, recording every WebSocket any frame of the page opens. */
async function visit(site: PartnerSite): Promise<{ page: Page; sockets: string[]; errors: string[] }> {
  const context = await browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  const sockets: string[] = [];
  const errors: string[] = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${site.url}/`);
  return { page, sockets, errors };
}

type Recorded = { name: string; data: Record<string, unknown> };
const events = (page: Page): Promise<Recorded[]> => page.evaluate(() => (window as unknown as { __chorusEvents: Recorded[] }).__chorusEvents);

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('partner script tag', () => {
  it('is served at /embed.js by the web app: the loader `npm run build:embed` wrote to public/', async () => {
    const built = readFileSync(path.join(REPO_ROOT, 'public/embed.js'));

    const res = await fetch(`${web.url}/embed.js`);
    const served = new Uint8Array(await res.arrayBuffer());

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect({ bytes: served.byteLength, sha256: sha256(served) }).toEqual({ bytes: built.byteLength, sha256: sha256(built) });
  });

  it('asks first in a shadow root the partner CSS cannot break, then contributes to a round without the partner seeing data or updates', async () => {
    const { page, sockets, errors } = await visit(allowed);

    // The card lives in a shadow root, not in the partner's DOM, and keeps its own styles.
    const yes = page.getByRole('button', { name: 'Yes, contribute' });
    await yes.waitFor();
    const card = await page.evaluate(() => {
      const host = document.querySelector('[data-chorus-embed]');
      const button = host?.shadowRoot?.querySelector('button.yes');
      return {
        inShadow: Boolean(button),
        inLightDom: document.querySelectorAll('button').length,
        display: button ? getComputedStyle(button).display : null,
        color: button ? getComputedStyle(button).color : null,
        fontSize: button ? getComputedStyle(button).fontSize : null,
        hostBorder: host ? getComputedStyle(host).borderTopWidth : null,
        hostPosition: host ? getComputedStyle(host).position : null,
        text: host?.shadowRoot?.textContent ?? '',
      };
    });
    expect(card).toMatchObject({ inShadow: true, inLightDom: 0, color: 'rgb(255, 255, 255)', fontSize: '14px', hostBorder: '0px', hostPosition: 'fixed' });
    expect(card.display).not.toBe('none');
    expect(card.text).toContain('What leaves your device: only compressed (quantized) model updates');
    // Nothing from Chorus runs before consent: no frame, no socket.
    expect(page.frames()).toHaveLength(1);
    expect(sockets).toEqual([]);

    const versionsBefore = (await listVersions(server.url, TASK)).length;
    await yes.click();

    // The partner can hand over labelled examples (validated in the frame) …
    const added = await page.evaluate(() => window.Chorus!.addExamples([{ input: new Array(784).fill(0.5), label: 3 }]));
    const refused = await page.evaluate(() => window.Chorus!.addExamples([{ input: new Array(784).fill(0.5), label: 10 }]).then(() => 'stored', (e: Error & { code: string }) => `${e.code}: ${e.message}`));
    expect(added).toBe(1);
    expect(refused).toBe('BAD_REQUEST: examples[0].label: expected an integer from 0 to 9, got 10');

    // … and the visitor's browser takes part in a round: a new global version on the server.
    await eventually('a new version from the embedded participant', async () => (await listVersions(server.url, TASK)).length > versionsBefore, 120_000, 1000);
    await eventually('the frame to show a contributed round', async () => {
      const frame = page.frames().find((f) => f.url().startsWith(`${web.url}/embed/frame`));
      const text = frame ? await frame.getByTestId('embed-rounds').textContent() : '';
      return /^[1-9]\d* rounds? contributed/.test(text ?? '') ? text : undefined;
    }, 30_000);
    expect(sockets.some((u) => u.startsWith(server.url.replace('http', 'ws')))).toBe(true);
    // A partner page is not cross-origin isolated, so neither is the frame: it trained without
    // SharedArrayBuffer (wasm single-threaded), and the isolation headers of / changed nothing here.
    const frame = page.frames().find((f) => f.url().startsWith(`${web.url}/embed/frame`))!;
    expect(await frame.evaluate(() => globalThis.crossOriginIsolated)).toBe(false);

    // The partner heard the events, in plain data …
    const heard = await events(page);
    const names = new Set(heard.map((e) => e.name));
    expect(['ready', 'status', 'roundJoined', 'progress'].filter((n) => !names.has(n))).toEqual([]);
    // Training keeps to the duty cycle (≤ 50 % by default), resting after each batch, and says so.
    expect(heard.some((e) => e.name === 'status' && e.data.phase === 'training' && String(e.data.text).includes('at most 50 % of the processor'))).toBe(true);
    // … but no bytes: every message that reached the partner page is small JSON from the Chorus origin.
    const raw = await page.evaluate(() => (window as unknown as { __rawMessages: { origin: string; binary: boolean; json: string }[] }).__rawMessages);
    expect(raw.length).toBeGreaterThan(0);
    expect(raw.filter((m) => m.origin !== web.url || m.binary || m.json.length > 1000)).toEqual([]);

    // The partner's script cannot reach into the Chorus frame's document or storage.
    const reach = await page.evaluate(() => {
      const w = document.querySelector('[data-chorus-embed]')!.shadowRoot!.querySelector('iframe')!.contentWindow!;
      const attempt = (f: () => unknown) => {
        try {
          f();
          return 'readable';
        } catch (e) {
          return `${(e as Error).name}${(e as Error).name === 'SecurityError' ? '' : `: ${(e as Error).message}`}`;
        }
      };
      return { document: attempt(() => w.document.body), localStorage: attempt(() => w.localStorage.length), indexedDB: attempt(() => w.indexedDB.databases()) };
    });
    expect(reach).toEqual({ document: 'SecurityError', localStorage: 'SecurityError', indexedDB: 'SecurityError' });

    // Withdrawing consent stops and forgets: the frame goes away and the card remembers "declined".
    await page.evaluate(() => window.Chorus!.forgetMe());
    await eventually('the frame to be removed', async () => page.frames().length === 1, 15_000);
    expect(await page.evaluate(() => window.Chorus!.consent())).toBe('declined');
    expect(errors).toEqual([]);
  });

  it('refuses a site the key does not list, in plain words, and opens no training connection', async () => {
    const { page, sockets } = await visit(stranger);

    await page.getByRole('button', { name: 'Yes, contribute' }).click();
    // The frame's CSP frame-ancestors lists only the key's origins: the browser will not show it here,
    // so the loader says why once the frame stays silent.
    const heard = await eventually('the refused event', async () => (await events(page)).find((e) => e.name === 'refused'), 20_000);
    const card = await page.evaluate(() => document.querySelector('[data-chorus-embed]')!.shadowRoot!.textContent);
    const csp = (await fetch(`${web.url}/embed/frame?task=${TASK}&key=${KEY}&parent=${encodeURIComponent(stranger.url)}`)).headers.get('content-security-policy');
    // Give a wrongly started participant time to show itself.
    await page.waitForTimeout(2000);

    expect(card).toContain(`This site (${stranger.url}) is not allowed to contribute to this Chorus task.`);
    expect(heard.data.code).toBe('FORBIDDEN');
    expect(csp).toBe(`frame-ancestors ${allowed.url}`);
    expect(sockets).toEqual([]);
    expect(await page.evaluate(() => window.Chorus!.pause().then(() => 'paused', (e: Error & { code: string }) => e.code))).toBe('FORBIDDEN');
  });
});
