import { describe, expect, it } from 'vitest';
import '../index.js';
import { ChorusError } from '../errors/chorus-error.js';
import type { TensorSpec } from '../weights/layout.js';
import { encodePayload, parsePayload } from '../weights/payload.js';
import { createStrategy, listStrategies } from './registry.js';

const layout: TensorSpec[] = [{ name: 'w', shape: [4] }];

function thrown(fn: () => unknown): ChorusError | undefined {
  try {
    fn();
  } catch (err) {
    return err as ChorusError;
  }
  return undefined;
}

describe('fedavg strategy', () => {
  it('is registered by importing @chorus/core and steps global + lr × weighted mean delta', () => {
    // Prepare
    const strategy = createStrategy({ id: 'fedavg', options: { serverLearningRate: 0.5 } }, layout);
    const global = Float32Array.of(1, 1, 1, 1);
    const agg = strategy.beginRound({ round: 1, version: 3, layout, global, selected: 2, population: 2 });
    const send = (participantId: string, values: number[], numExamples: number) =>
      agg.add({ participantId, numExamples, metrics: {}, update: parsePayload(encodePayload({ layout, values: Float32Array.from(values) }, 'float32'), { layout, maxBytes: 1000 }) });
    // Execute
    send('a', [2, 0, 0, -4], 1);
    send('b', [2, 4, 0, 0], 3);
    const next = strategy.applyAggregate(global, agg.finish([])!, 1);
    // Assert
    expect(listStrategies().map((s) => s.id)).toContain('fedavg');
    expect(strategy.configureFit(1)).toEqual({});
    expect([...next]).toEqual([2, 2.5, 1, 0.5]);
    expect([...global]).toEqual([1, 1, 1, 1]);
    expect(strategy.exportState()).toBeNull();
  });

  it('defaults serverLearningRate to 1', () => {
    const strategy = createStrategy({ id: 'fedavg', options: {} }, layout);
    const next = strategy.applyAggregate(Float32Array.of(1, 2, 3, 4), { delta: Float32Array.of(1, 1, 1, 1), metrics: {} }, 1);
    expect([...next]).toEqual([2, 3, 4, 5]);
  });

  it('rejects bad or unknown options with INVALID_CONFIG naming the option', () => {
    const negative = thrown(() => createStrategy({ id: 'fedavg', options: { serverLearningRate: -1 } }, layout));
    const typo = thrown(() => createStrategy({ id: 'fedavg', options: { serverLearningRte: 1 } }, layout));
    expect(negative?.code).toBe('INVALID_CONFIG');
    expect(negative?.message).toMatch(/serverLearningRate/);
    expect(typo?.code).toBe('INVALID_CONFIG');
    expect(typo?.message).toMatch(/serverLearningRte/);
  });

  it('takes the shared aggregation options: median of three updates ignores the outlier', () => {
    // Prepare
    const strategy = createStrategy({ id: 'fedavg', options: { aggregator: 'median' } }, layout);
    const global = Float32Array.of(0, 0, 0, 0);
    const agg = strategy.beginRound({ round: 1, version: 0, layout, global, selected: 3, population: 3 });
    const send = (participantId: string, values: number[]) =>
      agg.add({ participantId, numExamples: 1, metrics: {}, update: parsePayload(encodePayload({ layout, values: Float32Array.from(values) }, 'float32'), { layout, maxBytes: 1000 }) });
    // Execute
    send('a', [1, 1, 1, 1]);
    send('b', [2, 2, 2, 2]);
    send('evil', [1000, -1000, 1000, -1000]);
    const next = strategy.applyAggregate(global, agg.finish([])!, 1);
    // Assert
    expect(agg.streaming).toBe(false);
    expect([...next]).toEqual([2, 1, 2, 1]);
  });
});
