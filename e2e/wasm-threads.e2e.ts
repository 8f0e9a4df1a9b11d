/**
 * Threaded WebAssembly on the participant page: the production build serves `/` and
 * `/device-check` cross-origin isolated (COOP + COEP), so the trainer worker gets
 * SharedArrayBuffer and tfjs-backend-wasm runs its threaded SIMD build, one thread per core, with
 * pthreads started from tfjs's own unminified factory (the minified bundle's copy cannot run
 * there). The partner embed is checked non-isolated in embed.e2e.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTask, listVersions } from './support/chorus-server.js';
import { eventually, openParticipant } from './support/browser.js';
import { startE2eStack, type E2eStack } from './support/stack.js';

const TASK = 'mnist-threads';
let stack: E2eStack;

beforeAll(async () => {
  // One visitor is enough for a round.
  stack = await startE2eStack(TASK, { prepare: (s) => createTask(s.url, TASK, { targetClients: 1, minClients: 1, minAvailable: 1, deadlineMs: 30_000 }) });
});

afterAll(() => stack?.stop());

describe('threaded wasm', () => {
  it('runs on the isolated participant page: the worker trains rounds on wasm with one thread per core', async () => {
    const { browser, web, server } = stack;
    const p = await openParticipant(browser, web.url, { query: 'backend=wasm' });
    const workerErrors: string[] = [];
    p.page.on('console', (m) => {
      if (m.type() === 'error') workerErrors.push(m.text());
    });
    try {
      const page = await p.page.evaluate(() => ({ isolated: globalThis.crossOriginIsolated, cores: navigator.hardwareConcurrency, sab: typeof SharedArrayBuffer }));
      expect(page).toMatchObject({ isolated: true, sab: 'function' });
      expect(page.cores).toBeGreaterThan(1);

      const before = (await listVersions(server.url, TASK)).length;
      await eventually('a round trained in this browser', async () => (await p.number('stat-rounds')) >= 1 && (await listVersions(server.url, TASK)).length > before, 150_000, 500);

      expect(await p.text('stat-backend')).toBe('wasm');
      expect(Number(await p.text('stat-wasm-threads'))).toBe(page.cores);
      expect(await p.page.getByTestId('stat-wasm-threads').locator('xpath=..').textContent()).toContain('cross-origin isolated');
      expect(await p.page.getByTestId('phase').getAttribute('data-phase')).not.toBe('failed');
      expect(p.errors).toEqual([]);
      // A pthread that could not run its script reports a ReferenceError to the console.
      expect(workerErrors.filter((e) => /ReferenceError|is not defined|pthread/i.test(e))).toEqual([]);
    } finally {
      await p.context.close();
    }
  });

  it('the device check measures the CNN on wasm with threads, and with one thread when asked', async () => {
    const { browser, web } = stack;
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${web.url}/device-check`);
      await page.waitForFunction(() => Boolean((window as { chorusDeviceCheck?: unknown }).chorusDeviceCheck));
      expect(await page.getByTestId('device-check-isolation').textContent()).toContain('is cross-origin isolated');
      type M = { backend: string; samplesPerSecond: number; threads?: number; error?: string };
      const measure = (threads: boolean) =>
        page.evaluate((t) => (window as any).chorusDeviceCheck.measure('mnist-cnn', ['wasm'], 5, 1, t ? {} : { wasmThreads: false }), threads) as Promise<M[]>;
      const [threaded] = await measure(true);
      const [single] = await measure(false);
      expect(threaded).toMatchObject({ backend: 'wasm', threads: await page.evaluate(() => navigator.hardwareConcurrency) });
      expect(threaded!.error).toBeUndefined();
      expect(threaded!.samplesPerSecond).toBeGreaterThan(0);
      expect(single).toMatchObject({ backend: 'wasm', threads: 1 });
      expect(single!.samplesPerSecond).toBeGreaterThan(0);
    } finally {
      await context.close();
    }
  });
});
