/**
 * Aggregation benchmark.
 * - foldOverCopy: median time to fold one int8 CNN-sized update into the running float32 sum (SIMD
 *   kernel) ÷ median time of Float32Array.prototype.set copying the float32 model. Target ≤ 2.
 * - foldOverCopyJs: the same with the plain JS fold (engines without WASM SIMD).
 * - rssGrowth: peak RSS aggregating 200 updates ÷ peak RSS aggregating 10, each in a fresh process.
 *   A streaming aggregator keeps this near 1.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  allocateFoldTarget,
  createSeededRandom,
  createWeightedMeanAggregator,
  encodePayload,
  foldKernelAvailable,
  gaussian,
  layoutSize,
  maxPayloadBytes,
  parsePayload,
  type CodecId,
  type EncodedUpdate,
  type TensorSpec,
} from '@chorus/core';

/** The FedAvg paper's MNIST CNN (McMahan et al. 2017): 1,663,370 parameters. */
export const CNN_LAYOUT: readonly TensorSpec[] = [
  { name: 'conv1/kernel', shape: [5, 5, 1, 32] },
  { name: 'conv1/bias', shape: [32] },
  { name: 'conv2/kernel', shape: [5, 5, 32, 64] },
  { name: 'conv2/bias', shape: [64] },
  { name: 'dense1/kernel', shape: [3136, 512] },
  { name: 'dense1/bias', shape: [512] },
  { name: 'dense2/kernel', shape: [512, 10] },
  { name: 'dense2/bias', shape: [10] },
];

export function median(samples: readonly number[]): number {
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** A delta shaped like a client update: small Gaussian values. */
export function randomDelta(length: number, seed: number, std = 0.01): Float32Array {
  const random = createSeededRandom(seed);
  return Float32Array.from({ length }, () => gaussian(random) * std);
}

export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

function timeMs(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

function encodedUpdate(codec: CodecId, seed: number): EncodedUpdate {
  const length = layoutSize(CNN_LAYOUT);
  const bytes = encodePayload({ layout: CNN_LAYOUT, values: randomDelta(length, seed) }, codec, createSeededRandom(seed));
  return parsePayload(bytes, { layout: CNN_LAYOUT, maxBytes: maxPayloadBytes(CNN_LAYOUT, codec) });
}

/** Fold time ÷ copy time, interleaved so both see the same machine load. */
function foldRatio(update: EncodedUpdate, target: Float32Array, repeats: number): { ratio: number; foldMs: number; copyMs: number } {
  const model = randomDelta(update.length, 99, 1);
  const copy = new Float32Array(update.length);
  const folds: number[] = [];
  const copies: number[] = [];
  for (let r = 0; r < repeats + 5; r++) {
    const c = timeMs(() => copy.set(model));
    const f = timeMs(() => update.foldInto(target, 1));
    if (r >= 5) {
      copies.push(c);
      folds.push(f);
    }
  }
  const foldMs = median(folds);
  const copyMs = median(copies);
  return { ratio: foldMs / copyMs, foldMs, copyMs };
}

function peakRssOfChild(updates: number): number {
  const self = fileURLToPath(import.meta.url);
  const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--rss-child', String(updates)], { encoding: 'utf8' });
  return (JSON.parse(out.trim().split('\n').pop()!) as { peakRssBytes: number }).peakRssBytes;
}

/** Child process body: stream `count` fresh int8 updates through one weighted-mean aggregator. */
function rssChild(count: number): void {
  const length = layoutSize(CNN_LAYOUT);
  const templates = [1, 2, 3, 4].map((seed) => encodePayload({ layout: CNN_LAYOUT, values: randomDelta(length, seed) }, 'int8'));
  const ctx = { round: 1, version: 0, layout: CNN_LAYOUT, global: new Float32Array(length), selected: count, population: count };
  const aggregator = createWeightedMeanAggregator(ctx);
  const maxBytes = maxPayloadBytes(CNN_LAYOUT, 'int8');
  for (let i = 0; i < count; i++) {
    // A fresh buffer per update, as if received from the network: retaining it would show in RSS.
    const bytes = templates[i % templates.length]!.slice();
    const outcome = aggregator.add({ participantId: `c${i}`, numExamples: 600, metrics: { loss: 1 }, update: parsePayload(bytes, { layout: CNN_LAYOUT, maxBytes }) });
    if (outcome.status !== 'accepted') throw new Error(`update ${i} rejected: ${outcome.reason}`);
  }
  aggregator.finish([]);
  process.stdout.write(`${JSON.stringify({ peakRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
}

export async function run(): Promise<Record<string, unknown>> {
  const length = layoutSize(CNN_LAYOUT);
  log(`aggregate: CNN with ${length} parameters; WASM SIMD kernel ${foldKernelAvailable() ? 'available' : 'NOT available'}`);
  const repeats = 41;
  const int8 = encodedUpdate('int8', 1);
  const simd = foldRatio(int8, allocateFoldTarget(length), repeats);
  log(`  int8 fold (kernel): ${simd.foldMs.toFixed(2)} ms vs copy ${simd.copyMs.toFixed(2)} ms`);
  const js = foldRatio(int8, allocateFoldTarget(length, { useKernel: false }), repeats);
  log(`  int8 fold (JS):     ${js.foldMs.toFixed(2)} ms vs copy ${js.copyMs.toFixed(2)} ms`);
  const f16 = foldRatio(encodedUpdate('float16', 2), allocateFoldTarget(length), repeats);
  const f32 = foldRatio(encodedUpdate('float32', 3), allocateFoldTarget(length), repeats);
  log(`  float16 fold ${f16.ratio.toFixed(2)}× copy, float32 fold ${f32.ratio.toFixed(2)}× copy`);

  const rss = (n: number): number[] => [0, 1, 2].map(() => peakRssOfChild(n));
  log('  peak RSS: 3 fresh processes × 10 updates, 3 × 200 updates …');
  const small = median(rss(10));
  const large = median(rss(200));
  log(`  peak RSS ${(small / 2 ** 20).toFixed(0)} MiB (10 updates) vs ${(large / 2 ** 20).toFixed(0)} MiB (200 updates)`);

  return {
    parameters: length,
    simdKernel: foldKernelAvailable(),
    foldOverCopy: round(simd.ratio),
    foldOverCopyJs: round(js.ratio),
    foldOverCopyFloat16: round(f16.ratio),
    foldOverCopyFloat32: round(f32.ratio),
    foldMs: round(simd.foldMs),
    foldJsMs: round(js.foldMs),
    copyMs: round(simd.copyMs),
    rssGrowth: round(large / small),
    peakRssMiB10: round(small / 2 ** 20),
    peakRssMiB200: round(large / 2 ** 20),
    int8UpdateMiB: round(maxPayloadBytes(CNN_LAYOUT, 'int8') / 2 ** 20),
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

const childIndex = process.argv.indexOf('--rss-child');
if (childIndex >= 0 && process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  rssChild(Number(process.argv[childIndex + 1]));
}
