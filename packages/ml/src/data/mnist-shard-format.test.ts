import { describe, expect, it } from 'vitest';
import type { Dataset } from '@chorus/core';
import { decodeDatasetShard, encodeDatasetShard } from './mnist-shard-format.js';

const DS: Dataset = {
  x: Float32Array.from([0, 0.5, 1, 1.2, -0.1, 0.2]),
  y: Uint8Array.from([2, 0]),
  count: 2,
  inputShape: [3, 1],
  numClasses: 3,
};

describe('dataset shard format', () => {
  it('writes the documented header, labels and one byte per pixel', () => {
    const bytes = encodeDatasetShard(DS);

    expect(Array.from(bytes)).toEqual([
      0x43, 0x48, 0x44, 0x53, 1, 3, 2, 0, // "CHDS", version, classes, rank, reserved
      2, 0, 0, 0, // count
      3, 0, 0, 0, 1, 0, 0, 0, // shape [3, 1]
      2, 0, // labels
      0, 128, 255, 255, 0, 51, // pixels: round(v·255), clamped
    ]);
  });

  it('decodes to the same labels and pixels within 1/510', () => {
    const ds = decodeDatasetShard(encodeDatasetShard(DS));

    expect(ds.count).toBe(2);
    expect(ds.inputShape).toEqual([3, 1]);
    expect(ds.numClasses).toBe(3);
    expect(Array.from(ds.y)).toEqual([2, 0]);
    expect(Array.from(ds.x)).toEqual([0, 128 / 255, 1, 1, 0, 51 / 255].map(Math.fround));
  });

  it('decodes a shard that sits at an offset inside a larger buffer', () => {
    const bytes = encodeDatasetShard(DS);
    const padded = new Uint8Array(bytes.length + 5);
    padded.set(bytes, 5);

    expect(Array.from(decodeDatasetShard(padded.subarray(5)).y)).toEqual([2, 0]);
  });

  it('rejects foreign bytes, other versions, truncation and out-of-range labels', () => {
    const good = encodeDatasetShard(DS);
    const version2 = good.slice();
    version2[4] = 2;
    const badLabel = good.slice();
    badLabel[20] = 3;

    expect(() => decodeDatasetShard(new Uint8Array([1, 2, 3]))).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => decodeDatasetShard(version2)).toThrow(/version 2/);
    expect(() => decodeDatasetShard(good.subarray(0, good.length - 1))).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    expect(() => decodeDatasetShard(badLabel)).toThrow(/label 3/);
  });
});
