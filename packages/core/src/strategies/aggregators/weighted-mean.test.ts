import { describe, expect, it } from 'vitest';
import type { CodecId } from '../../codecs/codec.js';
import type { TensorSpec } from '../../weights/layout.js';
import { encodePayload, maxPayloadBytes, parsePayload } from '../../weights/payload.js';
import type { ClientUpdate, RoundContext } from '../strategy.js';
import { createWeightedMeanAggregator } from './weighted-mean.js';

const layout: TensorSpec[] = [
  { name: 'w', shape: [2, 3] },
  { name: 'b', shape: [2] },
];
const ctx: RoundContext = { round: 1, version: 0, layout, global: new Float32Array(8), selected: 3, population: 10 };

function update(participantId: string, values: number[], numExamples: number, metrics: Record<string, number> = {}, codec: CodecId = 'float32'): ClientUpdate {
  const bytes = encodePayload({ layout, values: Float32Array.from(values) }, codec);
  return { participantId, numExamples, metrics, update: parsePayload(bytes, { layout, maxBytes: maxPayloadBytes(layout, codec) }) };
}

describe('weighted mean aggregator', () => {
  it('returns the example-weighted mean delta and example-weighted client metrics', () => {
    // Prepare
    const agg = createWeightedMeanAggregator(ctx);
    // Execute
    const outcomes = [
      agg.add(update('a', [1, 2, 3, 4, 5, 6, 7, 8], 1, { loss: 0.5 })),
      agg.add(update('b', [4, 4, 4, 4, 4, 4, 4, -8], 3, { loss: 0.1, accuracy: 0.9 })),
    ];
    const result = agg.finish([{ participantId: 'c', code: 'DEADLINE', reason: 'late' }]);
    // Assert
    expect(agg.streaming).toBe(true);
    expect(outcomes.map((o) => o.status)).toEqual(['accepted', 'accepted']);
    expect([...result!.delta]).toEqual([3.25, 3.5, 3.75, 4, 4.25, 4.5, 4.75, -4]);
    expect(result!.metrics).toEqual({ loss: 0.2, accuracy: 0.9, clients: 2, examples: 4, failures: 1 });
  });

  it('returns null when no update arrived', () => {
    expect(createWeightedMeanAggregator(ctx).finish([])).toBeNull();
  });

  it('folds int8 updates straight from their bytes close to the float mean', () => {
    const agg = createWeightedMeanAggregator(ctx);
    agg.add(update('a', [1, -1, 0.5, 0, 0, 0, 2, 2], 2, {}, 'int8'));
    agg.add(update('b', [1, -1, 0.5, 0, 0, 0, 2, 2], 2, {}, 'float16'));
    const delta = agg.finish([])!.delta;
    const expected = [1, -1, 0.5, 0, 0, 0, 2, 2];
    expect(Math.max(...delta.map((v, i) => Math.abs(v - expected[i]!)))).toBeLessThan(1 / 127);
  });

  it('rejects duplicates, bad example counts, other layouts and late updates without touching the sum', () => {
    const agg = createWeightedMeanAggregator(ctx);
    agg.add(update('a', [1, 1, 1, 1, 1, 1, 1, 1], 1));
    const otherLayout: TensorSpec[] = [{ name: 'w', shape: [8] }];
    const foreign: ClientUpdate = {
      participantId: 'x',
      numExamples: 1,
      metrics: {},
      update: parsePayload(encodePayload({ layout: otherLayout, values: new Float32Array(8).fill(9) }, 'float32'), { layout: otherLayout, maxBytes: 1000 }),
    };
    const codes = [
      agg.add(update('a', [5, 5, 5, 5, 5, 5, 5, 5], 1)),
      agg.add(update('z', [5, 5, 5, 5, 5, 5, 5, 5], 0)),
      agg.add(foreign),
    ].map((o) => (o.status === 'rejected' ? o.code : o.status));
    const result = agg.finish([]);
    const late = agg.add(update('y', [5, 5, 5, 5, 5, 5, 5, 5], 1));
    expect(codes).toEqual(['DUPLICATE_UPDATE', 'BAD_REQUEST', 'SHAPE_MISMATCH']);
    expect([...result!.delta]).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(late).toMatchObject({ status: 'rejected', code: 'ROUND_CLOSED' });
  });
});
