/**
 * The keyboard task in real Chromium against the real server: a person types sentences, sees
 * next-word suggestions and accepts one with Tab or a click, lets the page learn from what they
 * type, their browser contributes a round from its demo text (one president's addresses) and those
 * words, the wire carries only protocol messages and the encoded update, and "Delete my data" leaves
 * no typed word nor the opt-in behind. A FedPer keyboard task (the output layer stays on each
 * device) keeps what is typed while its model loads and suggests with the device's own head.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { AxeResults } from 'axe-core';
import { encodePayload, layoutSize, mergeTensors, splitLayout } from '@chorus/core';
import { createInitialModel, createNextWordEncoder, modelFromTopology, NEXT_WORD_CONTEXT, nextWordDataset, suggestWords } from '@chorus/ml';
import { initNodeBackend, sotuVocabulary } from '@chorus/ml/node';
import { partnerPage, startPartnerSite } from './fixtures/partner-site.js';
import { E2E_ADMIN_TOKEN, listVersions, startChorusServer, type E2eServer } from './support/chorus-server.js';
import { eventually, launchChromium, openParticipant } from './support/browser.js';
import { freePort } from './support/processes.js';
import { startWebApp, type E2eWebApp } from './support/web-app.js';
import { parseFrames, watchWire } from './support/wire-watch.js';

const TASK = 'keyboard-e2e';
const FEDPER_TASK = 'keyboard-fedper-e2e';
const CLIENT_EVENTS = new Set(['join', 'update:begin', 'update:chunk', 'update:end', 'round:decline', 'capabilities']);
const SENTENCES = 'We will work with the Congress to make the state of the union strong. The people of the United States want a government that will work for them. ';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let server: E2eServer;
let web: E2eWebApp;
let fedperWeb: E2eWebApp;
let browser: Browser;

async function createKeyboardTask(id: string, extra: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${server.url}/api/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${E2E_ADMIN_TOKEN}` },
    body: JSON.stringify({
      template: 'nextword-gru',
      start: true,
      config: {
        id,
        name: 'Keyboard (e2e)',
        codec: 'int8',
        // A few hundred of the device's examples per round keep a round to seconds on a loaded CI machine.
        training: { localEpochs: 1, batchSize: 10, learningRate: 0.5, maxExamples: 300 },
        rounds: { targetClients: 1, minClients: 1, minAvailable: 1, overSelection: 1, deadlineMs: 30_000 },
        strategy: { id: 'fedavg', options: {} },
        ...extra,
      },
    }),
  });
  if (!res.ok) throw new Error(`creating the keyboard task "${id}" failed: HTTP ${res.status} ${await res.text()}`);
}

beforeAll(async () => {
  // The test's own tfjs (the expected update size, the comment's examples): the wasm backend, as the server uses.
  await initNodeBackend('wasm');
  const webPort = await freePort();
  const fedperPort = await freePort();
  server = await startChorusServer({ corsOrigin: `http://127.0.0.1:${webPort},http://127.0.0.1:${fedperPort}` });
  await createKeyboardTask(TASK, {});
  // One round is enough to give the device a trained head of its own; the version then stays put.
  await createKeyboardTask(FEDPER_TASK, { personalization: { method: 'fedper' }, rounds: { targetClients: 1, minClients: 1, minAvailable: 1, overSelection: 1, deadlineMs: 30_000, maxRounds: 1 } });
  web = await startWebApp({ port: webPort, serverUrl: server.url, taskId: TASK });
  fedperWeb = await startWebApp({ port: fedperPort, serverUrl: server.url, taskId: FEDPER_TASK });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await web?.stop();
  await fedperWeb?.stop();
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

      // Execute: a tap (click) on a suggestion accepts that one, and typing goes on in the box
      const afterTab = await box.inputValue();
      // The strip first shows three suggestions for the old context, then the new ones; a new global
      // model (rounds go on meanwhile) can re-rank them at any time. Buttons are keyed by their word, so
      // clicking the button that shows the word read taps that word; if it is gone by then, read again.
      const strip = p.page.getByTestId('suggestion');
      const tappedWord = await eventually(
        'a tap on the second suggestion',
        async () => {
          if ((await strip.count()) !== 3) return undefined;
          const word = (await strip.nth(1).textContent())!;
          const exact = new RegExp(`^${word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
          await strip.filter({ hasText: exact }).click({ timeout: 1_000 });
          return word;
        },
        10_000,
      );
      expect(await box.inputValue()).toBe(`${afterTab}${tappedWord} `);
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

      // Consenting again starts afresh: not learning from what is typed, and nothing in the box
      expect(await p.page.evaluate((taskId) => window.localStorage.getItem(`chorus-keyboard-learn:${taskId}`), TASK)).toBeNull();
      await p.page.getByTestId('consent-accept').click();
      await eventually('the keyboard box again', async () => (await p.page.getByTestId('keyboard-text').count()) === 1, 30_000);
      expect(await p.page.getByTestId('keyboard-learn').isChecked()).toBe(false);
      expect(await p.page.getByTestId('keyboard-text').inputValue()).toBe('');
      expect(await p.text('keyboard-learned')).toBe('Not learning from what you type.');
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
      // A click (a tap) on the strip's first word accepts it. The strip sits in a closed shadow root,
      // so the click lands where a finger would: on the first button, at the strip's left edge.
      await page.waitForTimeout(1_000);
      const next = await wordsNow();
      await strip.click({ position: { x: 8, y: 10 } });
      const clicked = await box.inputValue();
      const partial = await page.evaluate(() => window.Chorus!.suggest('The state of the un'));

      // Assert
      expect(added).toBe(expected);
      expect(expected).toBeGreaterThan(5);
      expect(tooLong).toBe('BAD_REQUEST: addText: expected a string of at most 10000 characters');
      expect(shown).toHaveLength(3);
      expect(direct).toHaveLength(3);
      for (const w of [...shown, ...direct]) expect(sotuVocabulary()).toContain(w);
      expect(accepted).toBe(`The state of the ${shown[0]} `);
      expect(next).toHaveLength(3);
      expect(clicked).toBe(`${accepted}${next[0]} `);
      expect(partial.every((w) => w.startsWith('un'))).toBe(true);
    } finally {
      await context.close();
      await site.stop();
    }
  }, 120_000);

  it("FedPer: keeps what is typed while the model loads, then suggests with the device's own output layer", async () => {
    // Prepare: the model downloads wait until the person has typed, as on a slow connection
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const p = await openParticipant(browser, fedperWeb.url, {
      query: 'backend=wasm',
      beforeGoto: async (page) => {
        await page.route('**/model.json', async (route) => {
          await held;
          await route.continue();
        });
      },
    });
    try {
      const box = p.page.getByTestId('keyboard-text');
      await eventually('the keyboard box', async () => (await box.count()) === 1, 30_000);
      expect(await p.page.locator('#keyboard-suggestions-label').textContent()).toBe('Loading the model for suggestions…');

      // Execute: learning ticked, the person types before any model is there
      await p.page.getByTestId('keyboard-learn').check();
      await box.click();
      await box.pressSequentially(SENTENCES, { delay: 5 });

      // Assert: every finished in-vocabulary word is kept (the first has no context)
      const typed = nextWordDataset([SENTENCES], sotuVocabulary()).count;
      expect(typed).toBeGreaterThan(10);
      await eventually('the words typed while the model loaded kept for training', async () => (await p.number('keyboard-learned')) === typed, 10_000);

      // Execute: the model arrives (the export holds the shared layers only)
      release();
      await eventually('three suggestions from the personalized model', async () => (await p.page.getByTestId('suggestion').count()) === 3, 60_000);
      expect(await p.page.locator('#keyboard-suggestions-label').textContent()).toBe('Suggestions:');

      // The device trains its round (maxRounds 1: version 1 is the last) and keeps its own head
      await eventually('a round contributed', async () => (await p.number('stat-rounds')) >= 1, 120_000, 500);
      const head = await eventually(
        "this device's output layer in IndexedDB",
        () =>
          p.page.evaluate(async (taskId) => {
            const db = await new Promise<IDBDatabase>((resolve, reject) => {
              const req = indexedDB.open('chorus-participant');
              req.onsuccess = () => resolve(req.result);
              req.onerror = () => reject(req.error);
            });
            const v = await new Promise<{ layout: { name: string; shape: number[] }[]; values: Float32Array } | undefined>((resolve) => {
              const req = db.transaction('meta').objectStore('meta').get(`personal:${taskId}`);
              req.onsuccess = () => resolve(req.result as never);
            });
            db.close();
            return v && { layout: v.layout, values: Array.from(v.values) };
          }, FEDPER_TASK),
        30_000,
      );

      // What the device's own model (version 1's shared layers + its head) suggests after the typed text
      const vocabulary = sotuVocabulary();
      const initial = await createInitialModel('nextword-gru', 1, { kind: 'text', inputShape: [NEXT_WORD_CONTEXT], numClasses: vocabulary.length, vocabulary, dataset: 'sotu' });
      const { shared } = splitLayout(initial.layout, ['output']);
      expect(head.layout.map((t) => t.name)).toEqual(['output/kernel', 'output/bias']);
      const sharedValues = new Float32Array(await (await fetch(`${server.url}/api/tasks/${FEDPER_TASK}/versions/1/weights.bin`, { headers: { authorization: `Bearer ${E2E_ADMIN_TOKEN}` } })).arrayBuffer());
      const own = await modelFromTopology(initial.topology, mergeTensors(initial.layout, [{ layout: shared, values: sharedValues }, { layout: head.layout, values: Float32Array.from(head.values) }]));
      const encoder = createNextWordEncoder(vocabulary);
      const expected = suggestWords(
        (own.predict(tf.tensor2d(encoder.contextOf(encoder.encode(SENTENCES), NEXT_WORD_CONTEXT), [1, NEXT_WORD_CONTEXT])) as tf.Tensor).dataSync(),
        vocabulary,
      );
      own.dispose();

      // Assert: once the page has version 1, its strip shows exactly those words
      const shownWords = () => p.page.getByTestId('suggestion').allTextContents();
      await eventually(`the strip showing ${expected.join(', ')}`, async () => JSON.stringify(await shownWords()) === JSON.stringify(expected), 30_000);
      expect(await box.inputValue()).toBe(SENTENCES);
      expect(p.errors).toEqual([]);
    } finally {
      await p.context.close();
    }
  }, 240_000);
});

let wire: ReturnType<typeof watchWire>;
function watchWireInto(page: Parameters<typeof watchWire>[0]): void {
  wire = watchWire(page, server.url);
}
