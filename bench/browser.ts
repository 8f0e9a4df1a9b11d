/**
 * The browser participant in headless Chromium (Debian's; installed by scripts/ensure-chromium.sh).
 * - `backends.<template>.<backend>`: training examples/s in the trainer Web Worker (batch 10,
 *   synthetic data, the rounds' trainLocal loop), 0 with `errors` when a backend cannot run.
 * - `trial.<template>`: the backend the automatic trial picks; `autoOverBest.<template>`: its
 *   measured throughput ÷ the best measured (target ≥ 0.9).
 * - `longestMainThreadTaskMs`: the longest main-thread task (PerformanceObserver "longtask") on the
 *   participant page while it takes part in real rounds against a local server (target ≤ 50;
 *   0 means no task reached the 50 ms long-task threshold).
 * - `uploadOverFloat32`: update bytes the page sent per round ÷ the same update as float32.
 * - `wasmThreadsOverSingle`: CNN training examples/s on wasm in the trainer worker of the
 *   cross-origin isolated device-check page, threaded build ÷ single-threaded build (the same
 *   page and worker code, `wasmThreads: false`), best of WASM_THREAD_TRIES (default 2) pairs
 *   measured one after the other, first one build then the other first (target ≥ 1.6 on 2 cores);
 *   `wasmThreadsOverSingleMedian` the median pair; `wasmThreads` the threads it used.
 * - `wasmTwoTrainersOverOne`: two single-threaded trainers side by side ÷ one alone (examples/s),
 *   the most any use of the second core can give (`WASM_CEILING=0` skips it).
 * Knobs: BROWSER_PARTS (`backends,threads,rounds`, the default, or any subset), WASM_THREAD_TRIES,
 *   WASM_THREAD_BATCHES (timed batches per measurement, default 6), WASM_THREAD_BATCH (examples per
 *   batch in the thread comparison, default 10, participants' batch; printed as `wasmThreadBatch`).
 */
import type { Browser, Page } from 'playwright-core';
import { encodePayload, layoutSize } from '@chorus/core';
import { createInitialModel } from '@chorus/ml';
import { eventually, launchChromium, openParticipant } from '../e2e/support/browser.js';
import { createTask, startChorusServer } from '../e2e/support/chorus-server.js';
import { freePort } from '../e2e/support/processes.js';
import { ensureWebBuild, startWebApp } from '../e2e/support/web-app.js';
import { parseFrames, watchWire } from '../e2e/support/wire-watch.js';

export type Measurement = { backend: string; samplesPerSecond: number; error?: string; threads?: number };
/** The data shape a template is built for (device-check-runner's CheckShape). */
export type CheckShape = { inputShape: readonly number[]; numClasses: number };
export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
const TEMPLATES = [
  { id: 'mnist-2nn', batches: 8 },
  { id: 'mnist-cnn', batches: 3 },
];
export const round1 = (x: number) => Math.round(x * 10) / 10;

/** The device-check page in a fresh context (its own IndexedDB), once its scripting hook is ready. */
export async function openDeviceCheck(browser: Browser, webUrl: string): Promise<{ page: Page; close: () => Promise<void> }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${webUrl}/device-check`);
  await page.waitForFunction(() => Boolean((window as { chorusDeviceCheck?: unknown }).chorusDeviceCheck));
  return { page, close: () => context.close() };
}

/** Training examples/s of a template on each backend, in the page's trainer worker (synthetic data, the rounds' trainLocal loop). */
export async function measureInWorker(
  page: Page,
  templateId: string,
  backends: readonly string[],
  batchSize: number,
  batches: number,
  options: { shape?: CheckShape; wasmThreads?: boolean } = {},
): Promise<Measurement[]> {
  return (await page.evaluate(
    ([id, list, size, count, o]) => (window as any).chorusDeviceCheck.measure(id, list, size, count, o),
    [templateId, backends, batchSize, batches, options] as const,
  )) as Measurement[];
}

/** The built web app (next start) and headless Chromium for `fn`, both stopped afterwards. */
export async function withDeviceCheckBrowser<T>(fn: (browser: Browser, webUrl: string) => Promise<T>): Promise<T> {
  ensureWebBuild();
  const web = await startWebApp({ serverUrl: 'http://127.0.0.1:9', taskId: 'unused' });
  try {
    const browser = await launchChromium();
    try {
      return await fn(browser, web.url);
    } finally {
      await browser.close();
    }
  } finally {
    await web.stop();
  }
}

async function measureBackends(browser: Browser, webUrl: string) {
  const backends: Record<string, Record<string, number>> = {};
  const errors: Record<string, string> = {};
  const trial: Record<string, string> = {};
  const autoOverBest: Record<string, number> = {};
  for (const t of TEMPLATES) {
    const { page, close } = await openDeviceCheck(browser, webUrl);
    process.stderr.write(`browser: measuring ${t.id} on ${BACKENDS.join(', ')}…\n`);
    const measured = await measureInWorker(page, t.id, BACKENDS, 10, t.batches);
    process.stderr.write(`browser: trial for ${t.id}…\n`);
    const chosen = (await page.evaluate((id) => (window as any).chorusDeviceCheck.trial(id), t.id)) as { backend: string };
    await close();
    backends[t.id] = Object.fromEntries(measured.map((m) => [m.backend, round1(m.samplesPerSecond)]));
    for (const m of measured) if (m.error) errors[`${t.id}.${m.backend}`] = m.error;
    const best = Math.max(...measured.map((m) => m.samplesPerSecond));
    trial[t.id] = chosen.backend;
    autoOverBest[t.id] = Math.round(((measured.find((m) => m.backend === chosen.backend)?.samplesPerSecond ?? 0) / best) * 1000) / 1000;
  }
  return { backends, trial, autoOverBest, ...(Object.keys(errors).length ? { errors } : {}) };
}

/** Threaded ÷ single-threaded wasm on the CNN, in the isolated device-check page's worker. */
async function measureWasmThreads(browser: Browser, webUrl: string) {
  const { page, close } = await openDeviceCheck(browser, webUrl);
  try {
    const isolation = (await page.evaluate(() => (window as any).chorusDeviceCheck.isolation())) as { page: boolean; worker: boolean };
    const batches = Number(process.env.WASM_THREAD_BATCHES ?? 6);
    // Batch 10 is what participants train with; a larger one (WASM_THREAD_BATCH) shows how much of a
    // step is fixed cost per batch that the second thread cannot share.
    const batchSize = Number(process.env.WASM_THREAD_BATCH ?? 10);
    if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 1000) throw new Error(`WASM_THREAD_BATCH: expected a whole number 1–1000, got ${process.env.WASM_THREAD_BATCH}`);
    const measure = async (threads: boolean) => (await measureInWorker(page, 'mnist-cnn', ['wasm'], batchSize, batches, threads ? {} : { wasmThreads: false }))[0]!;
    const pairs: { threaded: number; single: number; threads: number }[] = [];
    for (let i = 0; i < Number(process.env.WASM_THREAD_TRIES ?? 2); i++) {
      // Alternate which build goes first, so a load change during a pair does not always favour one.
      const threadedFirst = i % 2 === 0;
      process.stderr.write(`browser: CNN on wasm, ${threadedFirst ? 'threaded then single-threaded' : 'single-threaded then threaded'} (${i + 1})…\n`);
      const first = await measure(threadedFirst);
      const second = await measure(!threadedFirst);
      const [threaded, single] = threadedFirst ? [first, second] : [second, first];
      if (threaded.error || single.error) throw new Error(`wasm CNN measurement failed: ${threaded.error ?? single.error}`);
      pairs.push({ threaded: round1(threaded.samplesPerSecond), single: round1(single.samplesPerSecond), threads: threaded.threads ?? 0 });
    }
    const ratios = pairs.map((p) => p.threaded / p.single).sort((a, b) => a - b);
    const best = pairs.reduce((a, b) => (b.threaded / b.single > a.threaded / a.single ? b : a));
    const ceiling = process.env.WASM_CEILING === '0' ? {} : await measureTwoTrainers(browser, webUrl, page, batchSize, batches);
    return {
      ...ceiling,
      crossOriginIsolated: isolation,
      wasmThreadBatch: batchSize,
      wasmThreads: best.threads,
      wasmThreadsOverSingle: Math.round((best.threaded / best.single) * 100) / 100,
      wasmThreadsOverSingleMedian: Math.round(ratios[Math.floor(ratios.length / 2)]! * 100) / 100,
      wasmThreadPairs: pairs,
    };
  } finally {
    await close();
  }
}

/**
 * What two cores give at best: two single-threaded trainers (the device-check pages of two browser
 * contexts, each with its own worker) training the CNN at the same time, their examples/s summed, ÷
 * one trainer alone, measured just before. Nothing is shared between the two, so no threaded or
 * data-parallel build can beat it; `wasmThreadsOverSingle` is bounded by it. The two runs start
 * together; one that ends first leaves the other alone for its last batches, which can only raise
 * the figure.
 */
async function measureTwoTrainers(browser: Browser, webUrl: string, page: Page, batchSize: number, batches: number) {
  const other = await openDeviceCheck(browser, webUrl);
  try {
    const single = (p: Page) => measureInWorker(p, 'mnist-cnn', ['wasm'], batchSize, batches, { wasmThreads: false }).then((m) => m[0]!);
    const tries: { alone: number; together: number }[] = [];
    for (let i = 0; i < Number(process.env.WASM_THREAD_TRIES ?? 2); i++) {
      process.stderr.write(`browser: CNN on single-threaded wasm, one trainer then two side by side (${i + 1})…\n`);
      const alone = await single(page);
      const both = await Promise.all([single(page), single(other.page)]);
      const failed = [alone, ...both].find((m) => m.error);
      if (failed) throw new Error(`wasm CNN measurement failed: ${failed.error}`);
      tries.push({ alone: round1(alone.samplesPerSecond), together: round1(both[0]!.samplesPerSecond + both[1]!.samplesPerSecond) });
    }
    const best = tries.reduce((a, b) => (b.together / b.alone > a.together / a.alone ? b : a));
    return { wasmTwoTrainersOverOne: Math.round((best.together / best.alone) * 100) / 100, wasmTwoTrainerTries: tries };
  } finally {
    await other.close();
  }
}

/** One participant in real rounds (1 client per round) with long tasks recorded after it starts running. */
async function participate(browser: Browser) {
  const webPort = await freePort();
  const server = await startChorusServer({ corsOrigin: `http://127.0.0.1:${webPort}` });
  await createTask(server.url, 'bench-browser', { targetClients: 1, minClients: 1, minAvailable: 1, deadlineMs: 30_000 });
  const web = await startWebApp({ port: webPort, serverUrl: server.url, taskId: 'bench-browser' });
  try {
    let wire: ReturnType<typeof watchWire> | undefined;
    const p = await openParticipant(browser, web.url, {
      beforeGoto: async (page, context) => {
        await context.addInitScript(`
          window.__longTasks = [];
          new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push([e.startTime, e.duration]); })
            .observe({ type: 'longtask', buffered: true });
        `);
        wire = watchWire(page, server.url);
      },
    });
    await eventually('the participant running', async () => (await p.page.getByTestId('phase').getAttribute('data-phase')) === 'running', 120_000);
    const from = (await p.page.evaluate('performance.now()')) as number;
    process.stderr.write('browser: participant page taking part in 4 rounds…\n');
    await eventually('4 rounds', async () => (await p.number('stat-rounds')) >= 4, 180_000, 250);
    const tasks = (await p.page.evaluate('window.__longTasks')) as [number, number][];
    const during = tasks.filter(([start]) => start >= from).map(([, d]) => d);
    // Loading and hydrating the page usually has some: shows the observer is live.
    const whileLoading = tasks.length - during.length;
    const begins = parseFrames(wire!.text).events.filter((e) => e.name === 'update:begin').map((e) => (e.args[0] as { byteLength: number }).byteLength);
    const initial = await createInitialModel('mnist-2nn', 1);
    const float32Bytes = encodePayload({ layout: initial.layout, values: new Float32Array(layoutSize(initial.layout)) }, 'float32', Math.random).byteLength;
    await p.context.close();
    return {
      longestMainThreadTaskMs: round1(Math.max(0, ...during)),
      longTasksDuringRounds: during.length,
      longTasksWhileLoading: whileLoading,
      uploadBytesPerRound: begins[0] ?? 0,
      uploadOverFloat32: Math.round(((begins[0] ?? 0) / float32Bytes) * 1000) / 1000,
    };
  } finally {
    await web.stop();
    await server.stop();
  }
}

export async function run(): Promise<Record<string, unknown>> {
  ensureWebBuild();
  const web = await startWebApp({ serverUrl: 'http://127.0.0.1:9', taskId: 'unused' });
  const browser = await launchChromium();
  // BROWSER_PARTS (default all three) runs a subset, e.g. `threads` alone for wasmThreadsOverSingle.
  const parts = new Set((process.env.BROWSER_PARTS ?? 'backends,threads,rounds').split(',').map((p) => p.trim()));
  try {
    const measured = parts.has('backends') ? await measureBackends(browser, web.url) : {};
    const threads = parts.has('threads') ? await measureWasmThreads(browser, web.url) : {};
    await web.stop();
    const participation = parts.has('rounds') ? await participate(browser) : {};
    return { ...measured, ...threads, ...participation, chromium: browser.version() };
  } finally {
    await browser.close();
    await web.stop();
  }
}
