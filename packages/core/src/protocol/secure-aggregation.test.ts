import { describe, expect, it } from 'vitest';
import { ChorusError } from '../errors/chorus-error.js';
import { checkSecureAggregation } from './secure-aggregation-check.js';
import { taskConfigSchema, type TaskConfigInput } from './task.js';

const base: TaskConfigInput = {
  id: 'secure',
  name: 'secure',
  data: { kind: 'image', inputShape: [2], numClasses: 2 },
  strategy: { id: 'fedavg', options: {} },
  rounds: { minClients: 4 },
  secureAggregation: { neighbours: 4, threshold: 3 },
};

function refusal(input: TaskConfigInput): ChorusError {
  try {
    checkSecureAggregation(taskConfigSchema.parse(input));
  } catch (err) {
    expect(err).toBeInstanceOf(ChorusError);
    return err as ChorusError;
  }
  throw new Error('expected a refusal');
}

describe('the secureAggregation task option', () => {
  it('takes defaults and passes with the mean aggregator', () => {
    const config = taskConfigSchema.parse(base);
    expect(config.secureAggregation).toEqual({ neighbours: 4, threshold: 3, quantizationBits: 5, stageDeadlineMs: 30_000 });
    expect(() => checkSecureAggregation(config)).not.toThrow();
    expect(() => checkSecureAggregation(taskConfigSchema.parse({ ...base, secureAggregation: undefined, strategy: { id: 'fedavg', options: { aggregator: 'krum' } } }))).not.toThrow();
  });

  it('refuses a robust aggregator, in plain words naming the option', () => {
    const e = refusal({ ...base, strategy: { id: 'fedavg', options: { aggregator: 'krum' } } });
    expect(e.code).toBe('INVALID_CONFIG');
    expect(e.path).toBe('config.strategy.options.aggregator');
    expect(e.message).toMatch(/"krum" needs every individual update/);
  });

  it('takes central DP with a fixed clip norm, and refuses adaptive clipping, saying why', () => {
    const dp = { clipNorm: 1, noiseMultiplier: 1 };
    expect(() => checkSecureAggregation(taskConfigSchema.parse({ ...base, strategy: { id: 'fedavg', options: { dp } } }))).not.toThrow();
    const e = refusal({ ...base, strategy: { id: 'fedavg', options: { dp: { ...dp, expectedClients: 10, adaptiveClipping: {} } } } });
    expect(e.code).toBe('INVALID_CONFIG');
    expect(e.path).toBe('config.strategy.options.dp.adaptiveClipping');
    expect(e.message).toMatch(/how many updates needed clipping.*sees only their sum/);
  });

  it('takes the asynchronous mode with a buffer larger than the threshold (each secure cohort invites bufferSize participants)', () => {
    expect(() => checkSecureAggregation(taskConfigSchema.parse({ ...base, mode: 'async', async: { bufferSize: 4 } }))).not.toThrow();
    expect(() => checkSecureAggregation(taskConfigSchema.parse({ ...base, mode: 'async', async: { bufferSize: 4, concurrency: 8 } }))).not.toThrow();
    // The default buffer (10) is above the threshold 3.
    expect(() => checkSecureAggregation(taskConfigSchema.parse({ ...base, mode: 'async' }))).not.toThrow();
  });

  it('refuses an asynchronous buffer at or below the threshold, and a concurrency below the buffer, naming the option', () => {
    for (const bufferSize of [1, 3]) {
      const e = refusal({ ...base, mode: 'async', async: { bufferSize } });
      expect(e.code).toBe('INVALID_CONFIG');
      expect(e.path).toBe('config.async.bufferSize');
      expect(e.message).toMatch(/more than the secure-aggregation threshold \(3\)/);
    }
    const e = refusal({ ...base, mode: 'async', async: { bufferSize: 5, concurrency: 4 } });
    expect(e.path).toBe('config.async.concurrency');
    expect(e.message).toMatch(/at least async.bufferSize \(5\)/);
    // Without secure aggregation the same buffer is fine.
    expect(() => checkSecureAggregation(taskConfigSchema.parse({ ...base, secureAggregation: undefined, mode: 'async', async: { bufferSize: 1 } }))).not.toThrow();
  });

  it('refuses a round minimum at or below the threshold', () => {
    expect(refusal({ ...base, rounds: { minClients: 3 } }).path).toBe('config.rounds.minClients');
  });

  it('refuses a threshold above the neighbours or at most half of them', () => {
    expect(taskConfigSchema.safeParse({ ...base, secureAggregation: { neighbours: 4, threshold: 5 } }).success).toBe(false);
    expect(taskConfigSchema.safeParse({ ...base, secureAggregation: { neighbours: 4, threshold: 2 } }).success).toBe(false);
    expect(taskConfigSchema.safeParse({ ...base, secureAggregation: { neighbours: 300, threshold: 200 } }).success).toBe(false);
  });
});
