import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PresenceRegistry } from './presence-registry.js';
import { dropRedisPrefix, TEST_REDIS_URL, testRedisPrefix } from './redis-test-kit.test-helper.js';

const prefix = testRedisPrefix();
let redis: Redis;
beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL);
});
afterAll(async () => {
  redis.disconnect();
  await dropRedisPrefix(prefix);
});

describe('PresenceRegistry (Redis)', () => {
  it('lists the participants of a task over every process, and forgets a dead process after staleMs', async () => {
    let now = 1_000_000;
    const clock = () => now;
    const a = new PresenceRegistry(redis, { prefix, processId: 'proc-a', staleMs: 10_000, now: clock });
    const b = new PresenceRegistry(redis, { prefix, processId: 'proc-b', staleMs: 10_000, now: clock });
    await a.add('t1', 'p1', 'sock-1');
    await b.add('t1', 'p2', 'sock-2');
    await b.add('t2', 'p3', 'sock-3');

    expect(await a.list('t1')).toEqual([
      { participantId: 'p1', processId: 'proc-a', connectionId: 'sock-1', seenAt: 1_000_000 },
      { participantId: 'p2', processId: 'proc-b', connectionId: 'sock-2', seenAt: 1_000_000 },
    ]);

    // proc-b dies (no refresh); proc-a keeps refreshing. After staleMs only proc-a's participant is left.
    now += 8_000;
    await a.refresh();
    now += 4_000;
    expect((await b.list('t1')).map((p) => p.participantId)).toEqual(['p1']);
    expect(await redis.hexists(`${prefix}:presence:t1`, 'p2')).toBe(0);
  });

  it('a participant that moved to another process is not removed by the old one', async () => {
    const a = new PresenceRegistry(redis, { prefix, processId: 'proc-a' });
    const b = new PresenceRegistry(redis, { prefix, processId: 'proc-b' });
    await a.add('t3', 'p1', 'sock-a');
    await b.add('t3', 'p1', 'sock-b'); // reconnected through the front to process b
    await a.remove('t3', 'p1'); // process a sees its old socket close

    expect((await a.list('t3')).map((p) => [p.participantId, p.processId, p.connectionId])).toEqual([['p1', 'proc-b', 'sock-b']]);
    await b.remove('t3', 'p1');
    expect(await a.list('t3')).toEqual([]);
  });
});
