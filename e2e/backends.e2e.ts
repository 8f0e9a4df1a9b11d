import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './support/browser.js';
import { startWebApp, type E2eWebApp } from './support/web-app.js';

/**
 * Every model template trains on every tfjs backend the browser offers, in the real trainer Web
 * Worker (the same prepare/train path as a round), through `window.chorusDeviceCheck.trainTemplate`.
 * Headless Chromium here has WebGPU (SwiftShader, --enable-unsafe-webgpu), WebGL2 (SwiftShader),
 * wasm and cpu; elsewhere a backend whose adapter or context is missing is skipped, with the reason.
 */
type BackendId = 'webgpu' | 'webgl' | 'wasm' | 'cpu';
const BACKENDS: readonly BackendId[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

interface Plan {
  readonly examples: number;
  readonly batchSize: number;
  /** With 3 or more, the last round's loss must be at least 1 % below the first's (same examples every round). */
  readonly rounds: number;
}

interface TemplateCase {
  readonly id: string;
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  /** Weights of the model for that shape, worked out by hand from its layers. */
  readonly parameters: number;
  readonly learningRate: number;
  /** Starting weights uniform in ±initScale. @default 0.05 */
  readonly initScale?: number;
  /** Features are token ids (an embedding's input). @default false */
  readonly idInputs?: boolean;
  plan(backend: BackendId): Plan;
}

const quick: Plan = { examples: 20, batchSize: 10, rounds: 3 };
const CASES: readonly TemplateCase[] = [
  { id: 'mnist-2nn', inputShape: [28, 28, 1], numClasses: 10, parameters: 784 * 200 + 200 + 200 * 200 + 200 + 200 * 10 + 10, learningRate: 0.5, plan: () => quick },
  {
    id: 'mnist-cnn',
    inputShape: [28, 28, 1],
    numClasses: 10,
    // conv1 5·5·1·32+32, conv2 5·5·32·64+64, dense 7·7·64·512+512, output 512·10+10
    parameters: 832 + 51_264 + 1_606_144 + 5_130,
    learningRate: 0.3,
    // About 2 examples/s on cpu and SwiftShader WebGPU, 10 on WebGL: two small batches there.
    plan: (b) => (b === 'wasm' ? { examples: 20, batchSize: 5, rounds: 4 } : b === 'webgl' ? { examples: 10, batchSize: 5, rounds: 1 } : { examples: 8, batchSize: 4, rounds: 1 }),
  },
  { id: 'tabular-mlp', inputShape: [6], numClasses: 3, parameters: 6 * 16 + 16 + 16 * 3 + 3, learningRate: 0.5, initScale: 0.5, plan: () => ({ examples: 30, batchSize: 10, rounds: 4 }) },
  { id: 'spam-bow', inputShape: [50], numClasses: 2, parameters: 50 * 32 + 32 + 32 * 2 + 2, learningRate: 0.5, plan: () => ({ examples: 20, batchSize: 10, rounds: 4 }) },
  {
    id: 'nextword-gru',
    inputShape: [8],
    numClasses: 40,
    // embedding 40·32, GRU 3·(32·64 + 64·64 + 64), output 64·40+40
    parameters: 40 * 32 + 3 * (32 * 64 + 64 * 64 + 64) + 64 * 40 + 40,
    learningRate: 0.5,
    initScale: 0.2,
    idInputs: true,
    plan: () => ({ examples: 20, batchSize: 10, rounds: 4 }),
  },
];

interface Round {
  backend: string;
  loss: number;
  samplesPerSecond: number;
  deltaLength: number;
  nonFiniteDeltas: number;
  nonZeroDeltas: number;
}
interface Check {
  parameters: number;
  rounds: Round[];
}

let web: E2eWebApp;
let browser: Browser;
let page: Page;
let unusable: Partial<Record<BackendId, string>> = {};
const matrix: Record<string, Record<string, string>> = {};

beforeAll(async () => {
  web = await startWebApp({ serverUrl: 'http://127.0.0.1:9', taskId: 'unused' });
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(`${web.url}/device-check`);
  await page.waitForFunction(() => Boolean((window as { chorusDeviceCheck?: unknown }).chorusDeviceCheck));
  const probe = (await page.evaluate((list) => (window as any).chorusDeviceCheck.probe(list), BACKENDS)) as { unusable: typeof unusable };
  unusable = probe.unusable;
  for (const [b, why] of Object.entries(unusable)) console.warn(`backends.e2e: ${b} cannot start in this Chromium, its cases are skipped: ${why}`);
});

afterAll(async () => {
  const rows = Object.entries(matrix).flatMap(([t, cells]) => BACKENDS.map((b) => `${t} × ${b}: ${cells[b] ?? 'skipped'}`));
  if (rows.length) console.log(`training examples/s of the last round, template × backend (a single round includes the warm-up):\n${rows.join('\n')}`);
  await browser?.close();
  await web?.stop();
});

it('the harness Chromium offers WebGPU (SwiftShader), WebGL2, wasm and cpu to the trainer worker', () => {
  expect(unusable).toEqual({});
});

describe.each(CASES)('$id', (template) => {
  it.for(BACKENDS)(`trains on %s in the trainer worker`, async (backend, ctx) => {
    if (unusable[backend]) ctx.skip(`${backend} is not available in this browser: ${unusable[backend]}`);
    const where = `${template.id} × ${backend}`;
    const plan = template.plan(backend);
    const options = { inputShape: template.inputShape, numClasses: template.numClasses, learningRate: template.learningRate, initScale: template.initScale ?? 0.05, idInputs: template.idInputs ?? false, ...plan };

    let check: Check;
    try {
      check = (await page.evaluate(([id, b, o]) => (window as any).chorusDeviceCheck.trainTemplate(id, b, o), [template.id, backend, options] as const)) as Check;
    } catch (err) {
      (matrix[template.id] ??= {})[backend] = 'FAILED';
      throw new Error(`${where}: training failed in the worker: ${err instanceof Error ? err.message : String(err)}`);
    }
    const last = check.rounds.at(-1)!;
    const losses = check.rounds.map((r) => r.loss);
    const trail = losses.length > 1 ? ` (loss ${losses.map((l) => l.toFixed(3)).join('→')})` : '';
    (matrix[template.id] ??= {})[backend] = `${last.samplesPerSecond.toFixed(1)}${trail}`;

    expect(check.parameters, `${where}: parameter count`).toBe(template.parameters);
    expect(check.rounds.map((r) => r.backend), `${where}: backend tfjs trained on`).toEqual(check.rounds.map(() => backend));
    for (const [i, r] of check.rounds.entries()) {
      expect(Number.isFinite(r.loss), `${where}: round ${i + 1} loss ${r.loss} is finite`).toBe(true);
      expect(r.deltaLength, `${where}: round ${i + 1} delta length`).toBe(template.parameters);
      expect(r.nonFiniteDeltas, `${where}: round ${i + 1} non-finite delta values`).toBe(0);
      expect(r.nonZeroDeltas, `${where}: round ${i + 1} changed weights`).toBeGreaterThan(0);
    }
    if (plan.rounds >= 3) {
      expect(losses.at(-1)!, `${where}: loss after ${plan.rounds} rounds on the same examples (${losses.map((l) => l.toFixed(4)).join(' → ')})`).toBeLessThan(losses[0]! * 0.99);
    }
  });
});
