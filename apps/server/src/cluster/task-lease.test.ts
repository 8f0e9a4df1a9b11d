import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskConfigSchema } from '@chorus/core';
import { SqliteStorage } from '../storage/sqlite-storage.js';
import { dropRedisPrefix, TEST_REDIS_URL, testRedisPrefix } from './redis-test-kit.test-helper.js';
import { TaskLeases } from './task-lease.js';

const prefix = testRedisPrefix();
let redis: Redis;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL);
});
afterAll(async () => {
  redis.disconnect();
  await dropRedisPrefix(prefix);
});

describe('TaskLeases (Redis)', () => {
  it('gives a task to one process at a time, with a fencing token that grows with every new owner', async () => {
    const a = new TaskLeases(redis, { prefix, owner: 'proc-a', ttlMs: 300 });
    const b = new TaskLeases(redis, { prefix, owner: 'proc-b', ttlMs: 300 });

    const held = await a.acquire('t1');
    const refused = await b.acquire('t1');
    expect(held).not.toBeNull();
    expect(refused).toBeNull();
    expect(await a.holder('t1')).toEqual({ owner: 'proc-a', token: held!.token });

    // a renews for longer than the lease time: b still cannot take it.
    await sleep(200);
    expect(await a.renew(held!)).toBe(true);
    await sleep(200);
    expect(await b.acquire('t1')).toBeNull();

    // a stops renewing (a crash): within the lease time b takes over with a larger token.
    await sleep(350);
    const taken = await b.acquire('t1');
    expect(taken!.token).toBeGreaterThan(held!.token);
    expect(await a.renew(held!)).toBe(false);
    await a.release(held!); // a stale release must not free b's lease
    expect(await b.holder('t1')).toEqual({ owner: 'proc-b', token: taken!.token });
    await b.release(taken!);
    expect(await b.holder('t1')).toBeNull();
  });

  it('keeps a lease alive by renewing, and says when it is lost', async () => {
    const a = new TaskLeases(redis, { prefix, owner: 'proc-a', ttlMs: 300 });
    const held = (await a.acquire('t2'))!;
    const lost: string[] = [];
    const stop = a.keep(held, (why) => lost.push(why));
    await sleep(700);
    expect(lost).toEqual([]);
    expect((await a.holder('t2'))!.token).toBe(held.token);

    // Someone removes the lease (as an expiry during a long pause would): the next renewal notices.
    await redis.del(`${prefix}:lease:t2`);
    await sleep(250);
    expect(lost).toEqual(['lease expired or taken over']);
    stop();
  });

  it('lists, in one call, the tasks whose lease nobody holds (a dead owner\'s once it expires)', async () => {
    const a = new TaskLeases(redis, { prefix, owner: 'proc-a', ttlMs: 200 });
    const b = new TaskLeases(redis, { prefix, owner: 'proc-b', ttlMs: 200 });
    await a.acquire('f1');
    expect(await b.free(['f1', 'f2'])).toEqual(['f2']);
    expect(await b.free([])).toEqual([]);

    // a dies (stops renewing): its task shows up as free once the lease time has passed.
    await sleep(260);
    expect(await b.free(['f1', 'f2'])).toEqual(['f1', 'f2']);
  });

  it('a stale coordinator cannot commit: the new owner raises the fence with its token first', async () => {
    // Prepare: one database, two processes' leases on one task.
    const storage = new SqliteStorage({ path: ':memory:' });
    const config = taskConfigSchema.parse({ id: 't3', name: 'T3', data: { kind: 'tabular', inputShape: [2], numClasses: 2 } });
    const v = (n: number) => ({ taskId: 't3', version: n, round: n, payload: Uint8Array.from([n]), strategyState: null, metrics: {}, createdAt: n });
    const close = (round: number) => ({ taskId: 't3', round, closedAt: 1, participants: 0, failures: [], bytesUp: 0, bytesDown: 0, metrics: {}, receipts: [] });
    await storage.createTask({ id: 't3', config, topology: {}, layout: [], status: 'running', createdAt: 0 }, v(0));
    const a = new TaskLeases(redis, { prefix, owner: 'proc-a', ttlMs: 200 });
    const b = new TaskLeases(redis, { prefix, owner: 'proc-b', ttlMs: 200 });
    const leaseA = (await a.acquire('t3'))!;
    await storage.raiseFence('t3', leaseA.token);
    await storage.openRound({ taskId: 't3', round: 1, roundId: 'r1', version: 0, startedAt: 1, selected: 1 });

    // Execute: a pauses past its lease; b takes over and raises the fence; then a wakes and commits.
    await sleep(300);
    const leaseB = (await b.acquire('t3'))!;
    await storage.raiseFence('t3', leaseB.token);
    const late = storage.commitRound(close(1), v(1), leaseA.token);

    // Assert
    await expect(late).rejects.toMatchObject({ code: 'NOT_TASK_OWNER' });
    expect((await storage.latestVersion('t3'))!.version).toBe(0);
    await storage.commitRound(close(1), v(1), leaseB.token);
    expect((await storage.latestVersion('t3'))!.version).toBe(1);
    await storage.close();
  });
});
