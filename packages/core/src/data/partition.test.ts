import { describe, expect, it } from 'vitest';
import { ChorusError } from '../errors/chorus-error.js';
import { createSeededRandom } from '../random/seeded-random.js';
import { parsePartitionSpec, partitionIndices, subsetDataset } from './partition.js';
import type { PartitionSpec } from './partition.js';
import { dirichletSample } from './partition-dirichlet.js';

/** 1,000 examples, 100 of each of 10 labels, interleaved. */
const LABELS = Uint8Array.from({ length: 1000 }, (_, i) => i % 10);

function labelsSeen(part: Int32Array): number {
  return new Set(Array.from(part, (i) => LABELS[i])).size;
}

/** Mean total-variation distance between each client's label histogram and the global one (uniform). */
function meanLabelSkew(parts: Int32Array[]): number {
  let total = 0;
  for (const part of parts) {
    const hist = new Array(10).fill(0);
    for (const i of part) hist[LABELS[i]!]++;
    total += hist.reduce((s, h) => s + Math.abs(h / part.length - 0.1), 0) / 2;
  }
  return total / parts.length;
}

function expectEveryIndexOnce(parts: Int32Array[], n: number): void {
  const seen = new Uint8Array(n);
  for (const part of parts) for (const i of part) seen[i]!++;
  expect(Array.from(seen).every((s) => s === 1)).toBe(true);
}

describe('parsePartitionSpec', () => {
  it('reads iid, shards:K and dirichlet:ALPHA', () => {
    expect(parsePartitionSpec('iid')).toEqual({ kind: 'iid' });
    expect(parsePartitionSpec('shards:2')).toEqual({ kind: 'shards', shardsPerClient: 2 });
    expect(parsePartitionSpec('dirichlet:0.5')).toEqual({ kind: 'dirichlet', alpha: 0.5 });
  });

  it.each(['', 'random', 'shards', 'shards:0', 'shards:1.5', 'dirichlet:', 'dirichlet:-1', 'dirichlet:abc', 'iid:3'])(
    'rejects %j with INVALID_CONFIG naming the spec',
    (spec) => {
      const err = (() => {
        try {
          parsePartitionSpec(spec);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(ChorusError);
      expect((err as ChorusError).code).toBe('INVALID_CONFIG');
      expect((err as ChorusError).message).toContain(`"${spec}"`);
    },
  );
});

describe('partitionIndices', () => {
  it.each<[string, PartitionSpec]>([
    ['iid', { kind: 'iid' }],
    ['shards:2', { kind: 'shards', shardsPerClient: 2 }],
    ['dirichlet:0.3', { kind: 'dirichlet', alpha: 0.3 }],
  ])('%s assigns every index to exactly one client', (_name, spec) => {
    const parts = partitionIndices(LABELS, 7, spec, createSeededRandom(3));

    expect(parts).toHaveLength(7);
    expectEveryIndexOnce(parts, LABELS.length);
  });

  it('iid gives equal sizes and mixed labels', () => {
    const parts = partitionIndices(LABELS, 10, { kind: 'iid' }, createSeededRandom(1));

    expect(parts.map((p) => p.length)).toEqual(new Array(10).fill(100));
    expect(parts.every((p) => labelsSeen(p) === 10)).toBe(true);
  });

  it('shards:2 gives each client at most 2–3 labels, mostly 2', () => {
    const parts = partitionIndices(LABELS, 20, { kind: 'shards', shardsPerClient: 2 }, createSeededRandom(5));
    const seen = parts.map(labelsSeen);

    expect(parts.map((p) => p.length)).toEqual(new Array(20).fill(50));
    expect(Math.max(...seen)).toBeLessThanOrEqual(3);
    expect(seen.filter((s) => s <= 2).length).toBeGreaterThanOrEqual(15);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const spec: PartitionSpec = { kind: 'dirichlet', alpha: 0.5 };
    const a = partitionIndices(LABELS, 5, spec, createSeededRandom(9));
    const b = partitionIndices(LABELS, 5, spec, createSeededRandom(9));
    const c = partitionIndices(LABELS, 5, spec, createSeededRandom(10));

    expect(a.map((p) => Array.from(p))).toEqual(b.map((p) => Array.from(p)));
    expect(a.map((p) => Array.from(p))).not.toEqual(c.map((p) => Array.from(p)));
  });

  it('dirichlet with large alpha is close to iid; with small alpha it is skewed', () => {
    const near = partitionIndices(LABELS, 10, { kind: 'dirichlet', alpha: 1000 }, createSeededRandom(2));
    const skewed = partitionIndices(LABELS, 10, { kind: 'dirichlet', alpha: 0.05 }, createSeededRandom(2));

    expect(meanLabelSkew(near)).toBeLessThan(0.1);
    expect(meanLabelSkew(skewed)).toBeGreaterThan(0.5);
    expect(skewed.every((p) => p.length > 0)).toBe(true);
  });

  it('rejects a client count that is not a positive integer', () => {
    expect(() => partitionIndices(LABELS, 0, { kind: 'iid' }, createSeededRandom(1))).toThrow(/numClients/);
  });
});

describe('dirichletSample', () => {
  it('sums to 1 even for tiny alpha, where plain gamma sampling underflows', () => {
    const p = dirichletSample(10, 0.001, createSeededRandom(4));

    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(Array.from(p).every((v) => Number.isFinite(v) && v >= 0)).toBe(true);
  });

  it('has mean 1/k per category', () => {
    const random = createSeededRandom(8);
    const mean = new Float64Array(4);
    for (let i = 0; i < 4000; i++) dirichletSample(4, 2, random).forEach((v, k) => (mean[k]! += v / 4000));

    for (const m of mean) expect(m).toBeCloseTo(0.25, 2);
  });
});

describe('subsetDataset', () => {
  it('copies the chosen rows and labels in order', () => {
    const ds = { x: Float32Array.from([0, 1, 10, 11, 20, 21]), y: Uint8Array.from([0, 1, 2]), count: 3, inputShape: [2], numClasses: 3 };

    const sub = subsetDataset(ds, [2, 0]);

    expect(Array.from(sub.x)).toEqual([20, 21, 0, 1]);
    expect(Array.from(sub.y)).toEqual([2, 0]);
    expect(sub.count).toBe(2);
  });

  it('rejects an index outside the dataset', () => {
    const ds = { x: new Float32Array(2), y: new Uint8Array(1), count: 1, inputShape: [2], numClasses: 2 };

    expect(() => subsetDataset(ds, [1])).toThrow(/index 1/);
  });
});
