/**
 * The participant page in real Chromium against the real server: browsers with separate storage
 * train a task together on different backends, survive a reload and a server crash, and send
 * nothing but protocol messages and quantized updates.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { encodePayload, layoutSize } from '@chorus/core';
import { createInitialModel } from '@chorus/ml';
import { createTask, listVersions, type E2eServer } from './support/chorus-server.js';
import { eventually, openParticipant, type ParticipantPage } from './support/browser.js';
import type { E2eWebApp } from './support/web-app.js';
import { parseFrames, watchWire, type WireLog } from './support/wire-watch.js';
import { startE2eStack, type E2eStack } from './support/stack.js';

const TASK = 'mnist-e2e';
const CLIENT_EVENTS = new Set(['join', 'update:begin', 'update:chunk', 'update:end', 'round:decline', 'capabilities']);

let server: E2eServer;
let web: E2eWebApp;
let browser: Browser;
let stack: E2eStack;

/** Records every value each progress bar shows, so a fast phase cannot slip between two polls. */
const RECORD_PROGRESS = `
  window.__progressSeen = { 'progress-download': [], 'progress-train': [], 'progress-upload': [] };
  new MutationObserver(() => {
    for (const el of document.querySelectorAll('[data-testid^="progress-"]')) {
      const seen = window.__progressSeen[el.dataset.testid];
      const v = Number(el.dataset.value);
      if (seen && seen[seen.length - 1] !== v) seen.push(v);
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-value'] });
`;

beforeAll(async () => {
  // Two local epochs: three label-skewed browsers (≈ 4 digits each) then learn clearly within 3 rounds.
  stack = await startE2eStack(TASK, { prepare: (s) => createTask(s.url, TASK, {}, { localEpochs: 2 }) });
  ({ server, web, browser } = stack);
});

afterAll(() => stack?.stop());

describe('participant page', () => {
  it('shows an error thrown inside the training worker, with its message', async () => {
    // Prepare: the wasm binaries cannot be fetched, so the worker's wasm backend cannot start.
    const p = await openParticipant(browser, web.url, {
      query: 'backend=wasm',
      beforeGoto: async (_page, context) => {
        await context.route('**/tfjs-wasm/**', (route) => route.abort());
      },
    });
    try {
      // Execute + Assert
      const error = await eventually('the worker error on the page', async () => (await p.page.getByTestId('error').count()) > 0 && p.text('error'), 60_000);
      expect(error).toMatch(/^backend "wasm" failed to start/);
      expect(await p.page.getByTestId('phase').getAttribute('data-phase')).toBe('failed');
    } finally {
      await p.context.close();
    }
  });

  it('lets only one tab of a browser take part, handing over when it closes', async () => {
    const first = await openParticipant(browser, web.url, { query: 'backend=cpu' });
    try {
      await eventually('the first tab running', async () => (await first.page.getByTestId('phase').getAttribute('data-phase')) === 'running', 60_000);
      // Consent is remembered per browser, so the second tab starts without asking.
      const second = await openParticipant(browser, web.url, { query: 'backend=cpu', context: first.context, consent: false });
      await eventually('the second tab waiting', async () => (await second.page.getByTestId('phase').getAttribute('data-phase')) === 'waiting-for-tab', 30_000);
      await first.page.close();
      await eventually('the second tab taking over', async () => (await second.page.getByTestId('phase').getAttribute('data-phase')) === 'running', 60_000);
    } finally {
      await first.context.close();
    }
  });

  it('pauses and resumes, keeps a drawn digit on the device, and deletes everything on request', async () => {
    const p = await openParticipant(browser, web.url, { query: 'backend=cpu' });
    try {
      const phase = () => p.page.getByTestId('phase').getAttribute('data-phase');
      await eventually('running', async () => (await phase()) === 'running', 60_000);
      // Pause and resume
      await p.page.getByTestId('pause').click();
      await eventually('paused', async () => (await phase()) === 'paused', 10_000);
      expect(await p.text('paused-reasons')).toBe('You paused it.');
      await p.page.getByTestId('resume').click();
      await eventually('running again', async () => (await phase()) === 'running', 30_000);
      // Draw a 1 and keep it
      const box = (await p.page.getByTestId('draw-canvas').boundingBox())!;
      await p.page.mouse.move(box.x + box.width / 2, box.y + 30);
      await p.page.mouse.down();
      await p.page.mouse.move(box.x + box.width / 2 + 5, box.y + box.height - 30, { steps: 10 });
      await p.page.mouse.up();
      await p.page.getByTestId('draw-digit').getByText('1', { exact: true }).click();
      await p.page.getByTestId('draw-add').click();
      await eventually('the drawn example counted', async () => (await p.text('stat-examples')) === '101', 10_000);
      expect(await p.page.getByTestId('stat-examples').locator('..').textContent()).toContain('100 demo · 1 drawn · 0 imported');
      // Delete my data
      p.page.once('dialog', (d) => void d.accept());
      await p.page.getByTestId('delete-data').click();
      await eventually('the consent card again', async () => (await p.page.getByTestId('consent').count()) === 1, 30_000);
      const stored = await p.page.evaluate(async () => {
        const db = await new Promise<IDBDatabase>((resolve, reject) => {
          const req = indexedDB.open('chorus-participant');
          req.onsuccess = () => resolve(req.result);
          req.onerror = () => reject(req.error);
        });
        const names = ['examples', 'models', 'contributions', 'meta'];
        const counts = await Promise.all(
          names.map((n) => new Promise<number>((resolve) => {
            const req = db.transaction(n).objectStore(n).count();
            req.onsuccess = () => resolve(req.result);
          })),
        );
        db.close();
        return Object.fromEntries(names.map((n, i) => [n, counts[i]]));
      });
      expect(stored).toEqual({ examples: 0, models: 0, contributions: 0, meta: 0 });
    } finally {
      await p.context.close();
    }
  });

  it('trains with three browsers on webgpu, wasm and the measured backend; resumes after a reload and a server crash; sends only updates', async () => {
    // Prepare
    const wires: WireLog[] = [];
    const pages: ParticipantPage[] = [];
    for (const query of ['backend=webgpu', 'backend=wasm', '']) {
      pages.push(
        await openParticipant(browser, web.url, {
          query,
          beforeGoto: async (page, context) => {
            await context.addInitScript(RECORD_PROGRESS);
            wires.push(watchWire(page, server.url));
          },
        }),
      );
    }
    const [gpu, wasm, auto] = pages as [ParticipantPage, ParticipantPage, ParticipantPage];

    // Execute: three rounds
    await eventually('3 committed rounds', async () => (await listVersions(server.url, TASK)).some((v) => v.version >= 3), 180_000, 1_000);

    // Assert: backends, progress, accuracy
    expect(await gpu.text('stat-backend')).toBe('webgpu');
    expect(await wasm.text('stat-backend')).toBe('wasm');
    expect(['webgpu', 'webgl', 'wasm', 'cpu']).toContain(await auto.text('stat-backend'));
    for (const p of pages) {
      const seen = (await p.page.evaluate('window.__progressSeen')) as Record<string, number[]>;
      expect(seen['progress-download']).toContain(100);
      expect(seen['progress-upload']).toContain(100);
      // Batch-level progress: 2 epochs × 10 batches of 10 examples, so several values strictly between 0 and 100.
      expect(seen['progress-train']!.filter((v) => v > 0 && v < 100).length).toBeGreaterThanOrEqual(3);
    }
    for (const p of pages) await eventually('3 rounds on every page', async () => (await p.number('stat-rounds')) >= 3, 60_000);
    const versions = (await listVersions(server.url, TASK)).sort((a, b) => a.version - b.version);
    const accuracies = versions.filter((v) => typeof v.metrics?.accuracy === 'number').map((v) => v.metrics!.accuracy!);
    expect(accuracies.length).toBeGreaterThanOrEqual(3);
    console.log(`held-out accuracy by version: ${accuracies.map((a) => a.toFixed(3)).join(' → ')}`);
    // Chance is 10%; each browser holds about 4 of the 10 digits (which ones varies per run), so the
    // model stays far from MNIST's usual accuracies: assert it rises and is clearly above chance.
    expect(accuracies.at(-1)!).toBeGreaterThan(accuracies[0]!);
    expect(accuracies.at(-1)!).toBeGreaterThan(0.25);
    await eventually('the page showing the held-out accuracy', async () => (await auto.text('stat-accuracy')).endsWith('%'), 30_000);

    // Execute: reload the slowest browser in the middle of its local training
    const idBefore = await gpu.text('participant-id');
    const roundsBefore = await gpu.number('stat-rounds');
    await eventually('the webgpu browser training', async () => (await gpu.text('connection')) === 'connection: training', 60_000, 100);
    await gpu.page.reload();
    await eventually('the reloaded page running again', async () => (await gpu.page.getByTestId('phase').getAttribute('data-phase')) === 'running', 60_000);
    expect(await gpu.text('participant-id')).toBe(idBefore);
    expect(await gpu.text('stat-backend')).toBe('webgpu');
    await eventually('a round completed after the reload', async () => (await gpu.number('stat-rounds')) > roundsBefore, 120_000, 500);

    // Execute: the server crashes and comes back on the same port and database
    const committed = Math.max(...(await listVersions(server.url, TASK)).map((v) => v.version));
    await server.kill();
    await eventually(
      'a page noticing the lost connection',
      async () => (await Promise.all(pages.map((p) => p.text('connection')))).some((t) => t.includes('Connection lost')),
      30_000,
      100,
    );
    await server.restart();
    await eventually('a round committed after the restart', async () => Math.max(...(await listVersions(server.url, TASK)).map((v) => v.version)) >= committed + 2, 180_000, 1_000);
    for (const p of pages) expect(await p.page.getByTestId('phase').getAttribute('data-phase')).toBe('running');

    // Assert: what left each browser
    const initial = await createInitialModel('mnist-2nn', 1);
    const expectedUpdateBytes = encodePayload({ layout: initial.layout, values: new Float32Array(layoutSize(initial.layout)) }, 'int8', Math.random).byteLength;
    for (const wire of wires) {
      const { events, unknown } = parseFrames(wire.text);
      expect(unknown).toEqual([]);
      expect(events.filter((e) => !CLIENT_EVENTS.has(e.name))).toEqual([]);
      const begins = events.filter((e) => e.name === 'update:begin').map((e) => (e.args[0] as { byteLength: number }).byteLength);
      expect(begins.length).toBeGreaterThanOrEqual(3);
      expect(new Set(begins)).toEqual(new Set([expectedUpdateBytes]));
      // Every binary byte sent belongs to an announced update (retries may resend a chunk, never more).
      // Two interruptions can each cut one upload short before it is begun again: the reload and
      // the server crash; every other announced update arrives whole.
      const binary = wire.binary.reduce((a, b) => a + b, 0);
      expect(binary).toBeGreaterThanOrEqual(expectedUpdateBytes * (begins.length - 2));
      expect(binary).toBeLessThanOrEqual(expectedUpdateBytes * begins.length);
      expect(events.filter((e) => e.name === 'update:chunk').every((e) => e.attachments === 1)).toBe(true);
      // JSON frames stay small: no examples or weights hide in them.
      expect(Math.max(...wire.text.map((t) => t.length))).toBeLessThan(2_000);
      // HTTP to the server only downloads.
      expect(wire.http.filter((r) => r.method !== 'GET' && r.method !== 'OPTIONS')).toEqual([]);
    }
    expect(expectedUpdateBytes / (layoutSize(initial.layout) * 4)).toBeLessThan(0.26);
    for (const p of pages) expect(p.errors).toEqual([]);
  });
});
