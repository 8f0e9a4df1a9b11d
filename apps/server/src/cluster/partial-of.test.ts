import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { PartialSum } from '../rounds/coordination.js';
import type { RoundEngine } from '../rounds/round-engine.js';
import type { Storage } from '../storage/storage.js';
import { ClusterCoordination } from './cluster-coordination.js';
import { ProcessBus } from './process-bus.js';
import { dropRedisPrefix, testRedisPrefix, TEST_REDIS_URL } from './redis-test-kit.test-helper.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function redis(): Redis {
  const r = new Redis(TEST_REDIS_URL);
  cleanups.push(() => r.disconnect());
  return r;
}

describe('ClusterCoordination.partialOf (the coordinator closing a round)', () => {
  it('gets a live process’s partial sum, and says at once that a process which stopped beating took its sum with it', async () => {
    // Prepare: a coordinator, and process "b" beating and answering with its sum of two updates.
    const prefix = testRedisPrefix();
    cleanups.push(() => dropRedisPrefix(prefix));
    const coordinator = new ClusterCoordination(redis(), {} as RoundEngine, {} as Storage, { prefix, processId: 'a', askTimeoutMs: 10_000, logger: pino({ level: 'silent' }), localBroadcast: () => undefined });
    await coordinator.connect();
    cleanups.push(() => coordinator.close());
    const held: PartialSum = { count: 2, examples: 30, participants: ['p1', 'p2'], sum: Float32Array.of(1.5, -2, 3, 0.25), metrics: { loss: { sum: 6, weight: 30 } } };
    const b = new ProcessBus(redis(), { prefix, processId: 'b', logger: pino({ level: 'silent' }) });
    await b.connect({ tell: () => undefined, ask: async (_from, _taskId, request) => (request.kind === 'partial' && request.admitted === 2 ? held : undefined), announce: async () => undefined });
    cleanups.push(() => b.close());
    await redis().set(`${prefix}:alive:b`, '1', 'PX', 30_000);

    // Execute
    const got = await coordinator.partialOf('b', 't1', 't1-r1', 2);
    const t0 = performance.now();
    const gone = await coordinator.partialOf('c', 't1', 't1-r1', 1).then(
      () => null,
      (err: unknown) => err,
    );

    // Assert: b's sum arrived whole; c (no alive key, nobody listening) is refused UNAVAILABLE long before the 10 s answer timeout.
    expect(got).toEqual(held);
    expect(gone).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/server process c is gone/) });
    expect(performance.now() - t0).toBeLessThan(5_000);
  });
});
