/**
 * The keyboard task in real Chromium against the real server: a person types sentences, sees
 * next-word suggestions and accepts one with Tab, lets the page learn from what they type, their
 * browser contributes a round from its demo text (one president's addresses) and those words, the
 * wire carries only protocol messages and the encoded update, and "Delete my data" leaves no typed
 * word behind.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { AxeResults } from 'axe-core';
import { encodePayload, layoutSize } from '@chorus/core';
import { createInitialModel, nextWordDataset } from '@chorus/ml';
import { initNodeBackend, sotuVocabulary } from '@chorus/ml/node';
import { partnerPage, startPartnerSite } from './fixtures/partner-site.js';
import { E2E_ADMIN_TOKEN, listVersions, startChorusServer, type E2eServer } from './support/chorus-server.js';
import { eventually, launchChromium, openParticipant } from './support/browser.js';
import { freePort } from './support/processes.js';
import { startWebApp, type E2eWebApp } from './support/web-app.js';
import { parseFrames, watchWire } from './support/wire-watch.js';

const TASK = 'keyboard-e2e';
const CLIENT_EVENTS = new Set(['join', 'update:begin', 'update:chunk', 'update:end', 'round:decline', 'capabilities']);
const SENTENCES = 'We will work with the Congress to make the state of the union strong. The people of the United States want a government that will work for them. ';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let server: E2eServer;
let web: E2eWebApp;
let browser: Browser;

beforeAll(async () => {
  // The test's own tfjs (the expected update size, the comment's examples): the wasm backend, as the server uses.
  await initNodeBackend('wasm');
  const webPort = await freePort();
  server = await startChorusServer({ corsOrigin: `http://127.0.0.1:${webPort}` });
  const res = await fetch(`${server.url}/api/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${E2E_ADMIN_TOKEN}` },
    body: JSON.stringify({
      template: 'nextword-gru',
      start: true,
      config: {
        id: TASK,
        name: 'Keyboard (e2e)',
        codec: 'int8',
        // A few hundred of the device's examples per round keep a round to seconds on a loaded CI machine.
        training: { localEpochs: 1, batchSize: 10, learningRate: 0.5, maxExamples: 300 },
        rounds: { targetClients: 1, minClients: 1, minAvailable: 1, overSelection: 1, deadlineMs: 30_000 },
        strategy: { id: 'fedavg', options: {} },
      },
    }),
  });
  if (!res.ok) throw new Error(`creating the keyboard task failed: HTTP ${res.status} ${await res.text()}`);
  web = await startWebApp({ port: webPort, serverUrl: server.url, taskId: TASK });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await web?.stop();
  await server?.stop();
});

describe('keyboard task', () => {
  it('suggests words as the person types, learns only when asked, contributes a round, and forgets on delete', async () => {
    // Prepare
    const p = await openParticipant(browser, web.url, { query: 'backend=wasm', beforeGoto: (page) => void watchWireInto(page) });
    try {
      const box = p.page.getByTestId('keyboard-text');
      await eventually('three suggestions for an empty box', async () => (await p.page.getByTestId('suggestion').count()) === 3, 60_000);
      const demo = await eventually('the demo text loaded', async () => /^Demo data: \d+ next words from .+'s State of the Union addresses, picked for this browser\.$/.test(await p.text('demo-shard')) && p.text('demo-shard'), 30_000);
      const demoExamples = Number(/\d+/.exec(demo)![0]);
      expect(demoExamples).toBeGreaterThan(500);

      // Execute: type without learning, then with it
      await box.click();
      await box.pressSequentially('The state of the ', { delay: 5 });
      expect(await p.text('keyboard-learned')).toBe('Not learning from what you type.');
      expect(await p.number('stat-examples')).toBe(demoExamples);
      await p.page.getByTestId('keyboard-learn').check();
      await box.pressSequentially(SENTENCES, { delay: 5 });
      // A partial word narrows the suggestions; Tab accepts the first one.
      await box.pressSequentially('the peo', { delay: 5 });
      const first = (await p.page.getByTestId('suggestion').first().textContent())!;
      expect(first.startsWith('peo')).toBe(true);
      await box.press('Tab');

      // Assert: what the person sees
      expect(await box.inputValue()).toBe(`The state of the ${SENTENCES}the ${first} `);
      await expect.poll(() => box.evaluate((el) => el === document.activeElement)).toBe(true);
      // Every in-vocabulary word after the first is an example; the first three ("state of the") came before the tick.
      const learned = nextWordDataset([await box.inputValue()], sotuVocabulary()).count - 3;
      expect(learned).toBeGreaterThan(10);
      await eventually('every typed word kept for training', async () => (await p.number('keyboard-learned')) === learned, 10_000);
      await eventually('typed examples counted', async () => (await p.number('stat-examples')) === demoExamples + learned, 10_000);
      expect(await p.page.getByTestId('stat-examples').locator('..').textContent()).toContain(`${demoExamples} demo · 0 drawn · 0 imported · ${learned} typed`);
      expect(await p.text('keyboard-top3')).toMatch(/^Top-3 accuracy of the suggestions on your text: \d+% \(\d+ of \d+ words\)\.$/);
      expect(await p.page.getByTestId('keyboard-top3-history').locator('li').count()).toBeGreaterThanOrEqual(2);
      // The keyboard box passes the same axe audit as every other page (serious or critical findings fail).
      await p.page.addScriptTag({ content: AXE_SOURCE });
      const axe = await p.page.evaluate(() => (window as unknown as { axe: { run(): Promise<AxeResults> } }).axe.run());
      expect(axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => JSON.stringify(n.target)).join(' ')}`)).toEqual([]);

      // A round trained on this device's words (the demo text and what was typed)
      await eventually('a round contributed', async () => (await p.number('stat-rounds')) >= 1, 120_000, 500);
      const versions = await listVersions(server.url, TASK);
      expect(Math.max(...versions.map((v) => v.version))).toBeGreaterThanOrEqual(1);
      expect(versions.find((v) => v.version === 1)?.metrics).toMatchObject({ top3_accuracy: expect.any(Number), perplexity: expect.any(Number) });

      // What left the browser: protocol messages and the int8 update, nothing typed
      const initial = await createInitialModel('nextword-gru', 1);
      const updateBytes = encodePayload({ layout: initial.layout, values: new Float32Array(layoutSize(initial.layout)) }, 'int8', Math.random).byteLength;
      const { events, unknown } = parseFrames(wire.text);
      expect(unknown).toEqual([]);
      expect(events.filter((e) => !CLIENT_EVENTS.has(e.name))).toEqual([]);
      const begins = events.filter((e) => e.name === 'update:begin').map((e) => (e.args[0] as { byteLength: number }).byteLength);
      expect(begins.length).toBeGreaterThanOrEqual(1);
      expect(new Set(begins)).toEqual(new Set([updateBytes]));
      expect(wire.binary.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(updateBytes * begins.length);
      expect(wire.text.some((t) => /congress|government/i.test(t))).toBe(false);
      expect(Math.max(...wire.text.map((t) => t.length))).toBeLessThan(2_000);
      expect(wire.http.filter((r) => r.method !== 'GET' && r.method !== 'OPTIONS')).toEqual([]);
      expect(p.errors).toEqual([]);

      // Delete my data: the typed examples and the accuracy history go
      p.page.once('dialog', (d) => void d.accept());
      await p.page.getByTestId('delete-data').click();
      await eventually('the consent card again', async () => (await p.page.getByTestId('consent').count()) === 1, 30_000);
      const left = await p.page.evaluate(async (taskId) => {
        const db = await new Promise<IDBDatabase>((resolve, reject) => {
          const req = indexedDB.open('chorus-participant');
          req.onsuccess = () => resolve(req.result);
          req.onerror = () => reject(req.error);
        });
        const examples = await new Promise<number>((resolve) => {
          const req = db.transaction('examples').objectStore('examples').count();
          req.onsuccess = () => resolve(req.result);
        });
        db.close();
        return { examples, stats: window.localStorage.getItem(`chorus-keyboard-stats:${taskId}`) };
      }, TASK);
      expect(left).toEqual({ examples: 0, stats: null });
    } finally {
      await p.context.close();
    }
  }, 240_000);

  it("lets a partner's comment box opt in: Chorus.addText keeps the comment's next-word examples in the visitor's browser", async () => {
    // Prepare: a partner page with the script tag, allowed for this task
    const key = 'pk_keyboard';
    // The partner's comment box asks for suggestions with one attribute
    const site = await startPartnerSite(partnerPage(web.url, TASK, key).replace('<p>An article.</p>', '<p>An article.</p><textarea data-chorus-suggest aria-label="Your comment"></textarea>'));
    const res = await fetch(`${server.url}/api/partner-keys/${key}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${E2E_ADMIN_TOKEN}` },
      body: JSON.stringify({ name: 'Comment box', allowedOrigins: [site.url], allowedTasks: [TASK], quotaPerDay: 10 }),
    });
    expect(res.status).toBeLessThan(300);
    const comment = 'The people of the United States want a government that will work for them.';
    const expected = nextWordDataset([comment], sotuVocabulary()).count;
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${site.url}/`);
      await page.getByRole('button', { name: 'Yes, contribute' }).click();

      // Execute: the visitor ticked the partner's "help improve suggestions" and posted a comment
      const added = await eventually(
        'the frame keeping the comment',
        () => page.evaluate((text) => window.Chorus!.addText(text).then((n) => n, () => undefined), comment),
        60_000,
        500,
      );
      const tooLong = await page.evaluate(() => window.Chorus!.addText('x'.repeat(10_001)).then(() => 'kept', (e: Error & { code: string }) => `${e.code}: ${e.message}`));

      // Execute: the visitor types in the partner's box; the strip under it suggests, Tab accepts
      const box = page.locator('textarea[data-chorus-suggest]');
      await box.click();
      await box.pressSequentially('The state of the ');
      const strip = page.locator('chorus-suggestions');
      const wordsNow = async () => ((await strip.getAttribute('data-words')) ?? '').split(' ').filter(Boolean);
      await eventually('three suggestions under the box', async () => (await wordsNow()).length === 3, 60_000, 250);
      // The strip asks again only on input, so once the answer to the last keystroke is in, it stays.
      await page.waitForTimeout(1_000);
      const shown = await wordsNow();
      // Asked directly, with the latest model (training goes on, so it may be a newer version)
      const direct = await page.evaluate(() => window.Chorus!.suggest('The state of the '));
      await box.press('Tab');
      const accepted = await box.inputValue();
      const partial = await page.evaluate(() => window.Chorus!.suggest('The state of the un'));

      // Assert
      expect(added).toBe(expected);
      expect(expected).toBeGreaterThan(5);
      expect(tooLong).toBe('BAD_REQUEST: addText: expected a string of at most 10000 characters');
      expect(shown).toHaveLength(3);
      expect(direct).toHaveLength(3);
      for (const w of [...shown, ...direct]) expect(sotuVocabulary()).toContain(w);
      expect(accepted).toBe(`The state of the ${shown[0]} `);
      expect(partial.every((w) => w.startsWith('un'))).toBe(true);
    } finally {
      await context.close();
      await site.stop();
    }
  }, 120_000);
});

let wire: ReturnType<typeof watchWire>;
function watchWireInto(page: Parameters<typeof watchWire>[0]): void {
  wire = watchWire(page, server.url);
}
