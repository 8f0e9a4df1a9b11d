/**
 * The keyboard task: next-word prediction (nextword-gru, 43,456 parameters) trained federated on the
 * State of the Union addresses split by president (LEAF's by-speaker Shakespeare, in words), against
 * the same architecture trained centrally on the same clients' pooled data with the same optimizer,
 * batch size, learning rate, local epochs and number of examples per round. Both are scored on the
 * same 2,000 next-word windows spread over the 41 held-out addresses (each president's last).
 * Federated training goes through the real server and Socket.IO via the simulator, float32 updates.
 * Then the same model's training speed in the browser: the shipped nextword-gru (8 token ids → 256
 * words) trained in the participant's trainer Web Worker on each tfjs backend headless Chromium
 * offers (the device-check page, as `npm run bench -- browser` measures the MNIST models).
 *
 *   npm run bench -- nextword            (≈ 6–8 min on 2 shared cores, the browser part ≈ 1 min of it,
 *                                         plus a few minutes' web build when the sources changed)
 *
 * Knobs (environment): NEXTWORD_ROUNDS (@default 30), NEXTWORD_CLIENTS (@default 43, at most 43),
 * NEXTWORD_PER_ROUND (clients per round, @default 10), NEXTWORD_EXAMPLES (examples each client trains
 * on per round, drawn afresh from its addresses, @default 200), NEXTWORD_EPOCHS (@default 1),
 * NEXTWORD_LR (@default 1), NEXTWORD_BATCH (@default 20), NEXTWORD_MOMENTUM (server momentum of
 * FedAvgM for the federated side, @default 0.9; 0 = plain FedAvg; the central side is plain SGD
 * either way). A longer run, closer to convergence:
 * `NEXTWORD_ROUNDS=100 NEXTWORD_EXAMPLES=1000 npm run bench -- nextword`. NEXTWORD_BROWSER
 * (@default 1; 0 skips the browser part and the web build it needs), NEXTWORD_BROWSER_BATCHES (timed
 * batches of NEXTWORD_BATCH per backend after one warm-up batch, @default 10).
 *
 * Result keys: `federated` / `central`: `{ round, accuracy, top3Accuracy, perplexity }` by round;
 * `federatedOverCentral`: federated top-1 ÷ central top-1 after the last round (target ≥ 0.9);
 * `top3FederatedOverCentral` likewise for top-3; `browserExamplesPerSecond`: `{ webgpu, webgl,
 * wasm, cpu }` training examples/s in the trainer worker (0 for a backend that cannot run, its
 * reason in `browserErrors`), `browserWasmThreads`, `browserTrial` (the backend the automatic trial
 * picks for this model), `chromium`.
 */
import { createSeededRandom, trainingConfigSchema, type Dataset } from '@chorus/core';
import { createInitialModel, evaluateNextWord, modelFromTopology, trainLocal } from '@chorus/ml';
import { initNodeBackend, sotuHeldOutDataset, sotuSpeakerDataset, sotuSplit, sotuVocabulary } from '@chorus/ml/node';
import { runSimulation } from '@chorus/simulator';
import { BACKENDS, measureInWorker, openDeviceCheck, round1, withDeviceCheckBrowser } from './browser.js';

function knob(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw.trim() === '' ? fallback : Number(raw);
  if (!(value >= min && value <= max)) throw new Error(`nextword: ${name} must be a number from ${min} to ${max}, got "${raw}"`);
  return value;
}

const ROUNDS = knob('NEXTWORD_ROUNDS', 30, 1, 10_000);
const CLIENTS = knob('NEXTWORD_CLIENTS', 43, 1, 43);
const PER_ROUND = knob('NEXTWORD_PER_ROUND', 10, 1, CLIENTS);
const EXAMPLES = knob('NEXTWORD_EXAMPLES', 200, 1, 1_000_000);
const EPOCHS = knob('NEXTWORD_EPOCHS', 1, 1, 100);
const LR = knob('NEXTWORD_LR', 1, 1e-4, 10);
const BATCH = knob('NEXTWORD_BATCH', 20, 1, 4096);
/**
 * Server momentum β of FedAvgM (Hsu et al. 2019); 0 = plain FedAvg. On by default: with ten clients'
 * averaged steps per round, plain FedAvg covers less ground per round than central SGD (measured:
 * 0.75 of central top-1 after 15 rounds and 0.78 after 30, where FedAvgM reached 0.85 and 0.94–0.97).
 */
const MOMENTUM = knob('NEXTWORD_MOMENTUM', 0.9, 0, 0.99);
const BROWSER = knob('NEXTWORD_BROWSER', 1, 0, 1) === 1;
const BROWSER_BATCHES = knob('NEXTWORD_BROWSER_BATCHES', 10, 1, 1_000);
/** The shipped model's data shape: 8 context words, the 256-word vocabulary. */
const SHAPE = { inputShape: [8], numClasses: 256 } as const;
/** Held-out windows: the server's default central evaluation size, so both sides see the same set. */
const TEST_EXAMPLES = 2_000;
const SEED = 1;

interface Point {
  round: number;
  accuracy: number;
  top3Accuracy: number;
  perplexity: number;
}

const r4 = (x: number) => Math.round(x * 10_000) / 10_000;

async function federated(): Promise<Point[]> {
  const points: Point[] = [];
  const started = performance.now();
  for await (const r of runSimulation({
    model: 'nextword-gru',
    clients: CLIENTS,
    // Exactly PER_ROUND of CLIENTS: the simulator rounds fraction × clients.
    fraction: PER_ROUND / CLIENTS,
    rounds: ROUNDS,
    localEpochs: EPOCHS,
    batchSize: BATCH,
    learningRate: LR,
    maxExamples: EXAMPLES,
    codec: 'float32',
    strategy: MOMENTUM > 0 ? { id: 'fedavgm', options: { eta: 1, momentum: MOMENTUM } } : { id: 'fedavg', options: {} },
    seed: SEED,
    deadlineMs: 120_000,
  })) {
    const m = r.serverMetrics;
    points.push({ round: r.round, accuracy: r4(r.accuracy), top3Accuracy: r4(m.top3_accuracy ?? Number.NaN), perplexity: r4(m.perplexity ?? Number.NaN) });
    process.stderr.write(`[nextword] federated round ${r.round}: top-1 ${(r.accuracy * 100).toFixed(1)}% top-3 ${((m.top3_accuracy ?? 0) * 100).toFixed(1)}% perplexity ${(m.perplexity ?? 0).toFixed(1)} (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
  }
  return points;
}

function pooled(parts: Dataset[]): Dataset {
  const count = parts.reduce((n, d) => n + d.count, 0);
  const rowLen = parts[0]!.inputShape[0]!;
  const x = new Float32Array(count * rowLen);
  const y = new Uint8Array(count);
  let at = 0;
  for (const d of parts) {
    x.set(d.x, at * rowLen);
    y.set(d.y, at);
    at += d.count;
  }
  return { x, y, count, inputShape: [...parts[0]!.inputShape], numClasses: parts[0]!.numClasses };
}

/** The same architecture and initial weights, one device holding every client's data: each "round" trains on as many examples as a federated round does. */
async function central(test: Dataset): Promise<Point[]> {
  await initNodeBackend('wasm');
  const vocabulary = sotuVocabulary();
  const all = pooled(sotuSplit().speakers.slice(0, CLIENTS).map((s) => sotuSpeakerDataset(s, vocabulary)));
  const init = await createInitialModel('nextword-gru', SEED);
  const model = await modelFromTopology(init.topology, init.weights);
  const config = trainingConfigSchema.parse({ localEpochs: EPOCHS, batchSize: BATCH, learningRate: LR, maxExamples: PER_ROUND * EXAMPLES });
  const random = createSeededRandom(SEED);
  const points: Point[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    await trainLocal(model, all, config, { random });
    const m = await evaluateNextWord(model, test);
    points.push({ round, accuracy: r4(m.accuracy), top3Accuracy: r4(m.top3Accuracy), perplexity: r4(m.perplexity) });
    process.stderr.write(`[nextword] central round ${round}: top-1 ${(m.accuracy * 100).toFixed(1)}% top-3 ${(m.top3Accuracy * 100).toFixed(1)}% perplexity ${m.perplexity.toFixed(1)}\n`);
  }
  model.dispose();
  return points;
}

/**
 * Training examples/s of nextword-gru in the browser's trainer worker, per backend, at the batch
 * size the federated rounds use; then the backend the automatic trial picks for it.
 */
async function browserSpeed(): Promise<Record<string, unknown>> {
  return withDeviceCheckBrowser(async (browser, webUrl) => {
    const { page, close } = await openDeviceCheck(browser, webUrl);
    try {
      process.stderr.write(`[nextword] browser: training nextword-gru on ${BACKENDS.join(', ')} in the trainer worker…\n`);
      const measured = await measureInWorker(page, 'nextword-gru', BACKENDS, BATCH, BROWSER_BATCHES, { shape: SHAPE });
      process.stderr.write(`[nextword] browser: ${measured.map((m) => `${m.backend} ${m.samplesPerSecond.toFixed(1)}/s`).join(', ')}; trial…\n`);
      const trial = (await page.evaluate(([id, shape]) => (window as any).chorusDeviceCheck.trial(id, shape), ['nextword-gru', SHAPE] as const)) as { backend: string };
      const errors = Object.fromEntries(measured.filter((m) => m.error).map((m) => [m.backend, m.error!]));
      return {
        browserExamplesPerSecond: Object.fromEntries(measured.map((m) => [m.backend, round1(m.samplesPerSecond)])),
        ...(Object.keys(errors).length ? { browserErrors: errors } : {}),
        browserWasmThreads: measured.find((m) => m.backend === 'wasm')?.threads ?? 0,
        browserBatchSize: BATCH,
        browserTimedExamples: BATCH * BROWSER_BATCHES,
        browserTrial: trial.backend,
        chromium: browser.version(),
      };
    } finally {
      await close();
    }
  });
}

export async function run(): Promise<Record<string, unknown>> {
  const test = sotuHeldOutDataset(sotuVocabulary(), TEST_EXAMPLES);
  // First: a missing web build or Chromium then fails in a minute, not after the rounds.
  const browser = BROWSER ? await browserSpeed() : {};
  const fed = await federated();
  const cen = await central(test);
  const f = fed.at(-1)!;
  const c = cen.at(-1)!;
  return {
    model: 'nextword-gru',
    parameters: 43_456,
    vocabulary: 256,
    split: 'by-president',
    clients: CLIENTS,
    clientsPerRound: PER_ROUND,
    rounds: ROUNDS,
    localEpochs: EPOCHS,
    batchSize: BATCH,
    learningRate: LR,
    strategy: MOMENTUM > 0 ? `fedavgm (momentum ${MOMENTUM})` : 'fedavg',
    examplesPerClientPerRound: EXAMPLES,
    heldOutWindows: test.count,
    federatedOverCentral: r4(f.accuracy / c.accuracy),
    top3FederatedOverCentral: r4(f.top3Accuracy / c.top3Accuracy),
    final: { federated: f, central: c },
    ...browser,
    federated: fed,
    central: cen,
  };
}
