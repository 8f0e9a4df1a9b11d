import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { partnerPage, startPartnerSite, type PartnerSite } from './fixtures/partner-site.js';
import { eventually, launchChromium, launchChromiumAsVisitor } from './support/browser.js';
import { createTask, listVersions, putPartnerKey, startChorusServer, type E2eServer } from './support/chorus-server.js';
import { freePort } from './support/processes.js';
import { startWebApp, type E2eWebApp } from './support/web-app.js';

/**
 * The partner on another *site*: partner pages on http://localhost:A embed Chorus from the web app
 * on http://127.0.0.1:B. Two browsers: one with a visitor's defaults (third-party storage
 * partitioned) and Playwright's default launch, which refuses the frame any storage — what strict
 * privacy settings do. Keys choose what a blocked visit does: train from memory, or link out.
 */
const TASK = 'mnist-cross-site';
const MEMORY_KEY = 'pk_cross_memory';
const LINK_KEY = 'pk_cross_link';
let server: E2eServer;
let web: E2eWebApp;
let memoryPartner: PartnerSite;
let linkPartner: PartnerSite;
let visitorBrowser: Browser;
let strictBrowser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  const webPort = await freePort();
  server = await startChorusServer({ corsOrigin: `http://127.0.0.1:${webPort}` });
  await createTask(server.url, TASK, { targetClients: 1, minClients: 1, minAvailable: 1, deadlineMs: 20_000 });
  web = await startWebApp({ port: webPort, serverUrl: server.url, taskId: TASK });
  memoryPartner = await startPartnerSite(partnerPage(web.url, TASK, MEMORY_KEY), 'localhost');
  linkPartner = await startPartnerSite(partnerPage(web.url, TASK, LINK_KEY), 'localhost');
  await putPartnerKey(server.url, MEMORY_KEY, { name: 'Cross-site memory', allowedOrigins: [memoryPartner.url], allowedTasks: [TASK], quotaPerDay: 10, storageFallback: 'memory' });
  await putPartnerKey(server.url, LINK_KEY, { name: 'Cross-site link', allowedOrigins: [linkPartner.url], allowedTasks: [TASK], quotaPerDay: 10, storageFallback: 'link' });
  visitorBrowser = await launchChromiumAsVisitor();
  strictBrowser = await launchChromium();
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await visitorBrowser?.close();
  await strictBrowser?.close();
  await memoryPartner?.stop();
  await linkPartner?.stop();
  await web?.stop();
  await server?.stop();
});

type Recorded = { name: string; data: Record<string, unknown> };
const events = (page: Page): Promise<Recorded[]> => page.evaluate(() => (window as unknown as { __chorusEvents: Recorded[] }).__chorusEvents);

async function visit(browser: Browser, site: PartnerSite): Promise<{ context: BrowserContext; page: Page; sockets: string[]; errors: string[] }> {
  const context = await browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  const sockets: string[] = [];
  const errors: string[] = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${site.url}/`);
  await page.getByRole('button', { name: 'Yes, contribute' }).click();
  return { context, page, sockets, errors };
}

const chorusFrame = (page: Page) => page.frames().find((f) => f.url().startsWith(`${web.url}/embed/frame`));

/** What the partner's own script can reach of the Chorus frame: nothing. */
const partnerReach = (page: Page) =>
  page.evaluate(() => {
    const w = document.querySelector('[data-chorus-embed]')!.shadowRoot!.querySelector('iframe')!.contentWindow!;
    const attempt = (f: () => unknown) => {
      try {
        f();
        return 'readable';
      } catch (e) {
        return (e as Error).name;
      }
    };
    return { document: attempt(() => w.document.body), localStorage: attempt(() => w.localStorage.length), indexedDB: attempt(() => w.indexedDB.databases()) };
  });

async function contributesARound(page: Page, versionsBefore: number): Promise<void> {
  const status = setInterval(() => {
    void chorusFrame(page)?.getByTestId('embed-status').textContent().then((t) => console.log(`[frame] ${t}`), () => undefined);
  }, 3000);
  try {
    await waitForRound(page, versionsBefore);
  } finally {
    clearInterval(status);
  }
}

async function waitForRound(page: Page, versionsBefore: number): Promise<void> {
  await eventually('a new version from the cross-site visitor', async () => (await listVersions(server.url, TASK)).length > versionsBefore, 150_000, 1000);
  await eventually('the frame to show a contributed round', async () => {
    const text = (await chorusFrame(page)?.getByTestId('embed-rounds').textContent()) ?? '';
    return /^[1-9]\d* rounds? contributed/.test(text) ? text : undefined;
  }, 30_000);
}

describe('partner embed on another site', () => {
  it("with a visitor's default Chromium (partitioned storage): the visitor contributes a round and keeps its data, out of the partner's reach", async () => {
    const versionsBefore = (await listVersions(server.url, TASK)).length;
    const { page, errors } = await visit(visitorBrowser, memoryPartner);

    await contributesARound(page, versionsBefore);
    const frame = chorusFrame(page)!;
    expect(await frame.getByTestId('embed-memory-note').count()).toBe(0);
    // The frame's own (partitioned) IndexedDB holds the visitor's data …
    const databases = await frame.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
    expect(databases).toContain('chorus-participant');
    // … and the partner page cannot read any of it.
    expect(await partnerReach(page)).toEqual({ document: 'SecurityError', localStorage: 'SecurityError', indexedDB: 'SecurityError' });
    expect(errors).toEqual([]);
    // This visitor leaves: the next rounds are the next visitor's alone.
    await page.context().close();
  });

  it('with third-party storage blocked and the default key: trains from memory, says so, and leaves nothing stored', async () => {
    const versionsBefore = (await listVersions(server.url, TASK)).length;
    const { context, page, errors } = await visit(strictBrowser, memoryPartner);

    // Within 10 s the card says what this visit does.
    const note = await eventually('the memory note', async () => (await chorusFrame(page)?.getByTestId('embed-memory-note').textContent()) ?? undefined, 10_000);
    expect(note).toContain('nothing is kept after you close this tab');
    await contributesARound(page, versionsBefore);
    const heard = await events(page);
    expect(heard.some((e) => e.name === 'status' && e.data.phase === 'training')).toBe(true);
    expect(heard.some((e) => e.name === 'roundJoined')).toBe(true);
    // Storage really is blocked for the frame here (localStorage refuses it too), so the run above was from memory.
    const frameStorage = await chorusFrame(page)!.evaluate(() => {
      try {
        return `readable (${localStorage.length})`;
      } catch (e) {
        return (e as Error).name;
      }
    });
    expect(frameStorage).toBe('SecurityError');
    await page.close();
    // Nothing of Chorus is left in this browser profile: no IndexedDB, no localStorage, no cookie for it.
    const state = await context.storageState({ indexedDB: true });
    expect(state.origins.filter((o) => o.origin === web.url)).toEqual([]);
    expect(state.cookies.filter((c) => c.domain === '127.0.0.1')).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("with third-party storage blocked and a key that links out: the plain message within 10 s, the partner hears why, nothing starts", async () => {
    const { page, sockets } = await visit(strictBrowser, linkPartner);

    const text = await eventually('the blocked message', async () => (await chorusFrame(page)?.getByTestId('embed-storage-blocked').textContent()) ?? undefined, 10_000);
    expect(text).toContain('This browser does not let Chorus store anything inside other sites');
    const link = await chorusFrame(page)!.getByTestId('embed-participant-link').getAttribute('href');
    expect(link).toBe(`${web.url}/`);
    const heard = await eventually('the STORAGE_BLOCKED error event', async () => {
      const all = await events(page);
      return all.some((e) => e.name === 'error' && e.data.code === 'STORAGE_BLOCKED') ? all : undefined;
    }, 10_000);
    expect(heard.some((e) => e.name === 'status' && e.data.phase === 'unavailable')).toBe(true);
    // No training connection was opened.
    await page.waitForTimeout(1000);
    expect(sockets).toEqual([]);
  });
});
