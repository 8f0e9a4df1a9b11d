import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ChorusError, createSeededRandom, shuffleInPlace, subsetDataset } from '@chorus/core';
import type { Dataset } from '@chorus/core';

export const MNIST_TRAIN_COUNT = 8000;
export const MNIST_TEST_COUNT = 2000;
const PIXELS = 784;

let allDigits: Dataset | undefined;
const splits = new Map<number, { train: Dataset; test: Dataset }>();

/** Folder of the `mnist` package's per-digit JSON files ({"data": [784 floats per example, …]}). */
function digitsFolder(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
}

/** All 10,000 digits, grouped by label (0s first). Its `set()` helper is not used: it drops test digits. */
function readAllDigits(): Dataset {
  const parts: Float32Array[] = [];
  const labels: number[] = [];
  for (let digit = 0; digit <= 9; digit++) {
    const file = path.join(digitsFolder(), `${digit}.json`);
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { data?: unknown };
    if (!Array.isArray(parsed.data) || parsed.data.length % PIXELS !== 0) {
      throw new ChorusError('INTERNAL', `loadMnist: ${file} does not hold rows of ${PIXELS} pixels`);
    }
    parts.push(Float32Array.from(parsed.data as number[]));
    for (let i = 0; i < parsed.data.length / PIXELS; i++) labels.push(digit);
  }
  const x = new Float32Array(labels.length * PIXELS);
  let offset = 0;
  for (const p of parts) {
    x.set(p, offset);
    offset += p.length;
  }
  return { x, y: Uint8Array.from(labels), count: labels.length, inputShape: [28, 28, 1], numClasses: 10 };
}

/**
 * The `mnist` package's 10,000 digits (pixels in [0, 1]) split 8,000 / 2,000 by a seeded shuffle.
 * Cached per seed: callers share the buffers and must not write into them.
 */
export function loadMnist(seed = 1): { train: Dataset; test: Dataset } {
  const cached = splits.get(seed);
  if (cached) return cached;
  allDigits ??= readAllDigits();
  const order = Int32Array.from({ length: allDigits.count }, (_, i) => i);
  shuffleInPlace(order, createSeededRandom(seed));
  const split = {
    train: subsetDataset(allDigits, order.subarray(0, MNIST_TRAIN_COUNT)),
    test: subsetDataset(allDigits, order.subarray(MNIST_TRAIN_COUNT, MNIST_TRAIN_COUNT + MNIST_TEST_COUNT)),
  };
  splits.set(seed, split);
  return split;
}
