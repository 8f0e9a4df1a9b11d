import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../index.js';
import { DEMO_TASK_ID } from '../tasks/task-factory.js';
import { dropTestSchema, TEST_PG_URL, testSchemaName } from '../storage/pg-test-kit.test-helper.js';
import { dropRedisPrefix, TEST_REDIS_URL, testRedisPrefix } from './redis-test-kit.test-helper.js';

const schema = testSchemaName('chorus_start');
const prefix = testRedisPrefix();
const servers: RunningServer[] = [];

afterAll(async () => {
  for (const s of servers) await s.close();
  await dropTestSchema(schema);
  await dropRedisPrefix(prefix);
});

describe('server processes starting together on one database', () => {
  it('both come up with the one demo task, coordinated by exactly one of them; closing it hands the task over', { timeout: 90_000 }, async () => {
    const config = { port: 0, host: '127.0.0.1', db: TEST_PG_URL, dbSchema: schema, redis: TEST_REDIS_URL, redisPrefix: prefix, evaluate: false, demoTask: true, leaseMs: 1_000 };
    // Execute: both start at once, each finding no task and creating the demo.
    const started = await Promise.all([0, 1].map(() => startServer(config, { logger: pino({ level: 'silent' }) })));
    servers.push(...started);
    const [a, b] = started as [RunningServer, RunningServer];
    // Assert
    expect(a.engine.taskIds()).toEqual([DEMO_TASK_ID]);
    expect(b.engine.taskIds()).toEqual([DEMO_TASK_ID]);
    const coordinators = () => started.filter((s) => s.cluster!.coordinates(DEMO_TASK_ID));
    await expect.poll(() => coordinators().length, { timeout: 10_000 }).toBe(1);
    expect((await a.storage.getTask(DEMO_TASK_ID))!.status).toBe('running');
    // A graceful close gives the lease back: the other process takes the task over without waiting out the lease.
    const [owner] = coordinators() as [RunningServer];
    const other = owner === a ? b : a;
    await owner.close();
    await expect.poll(() => other.cluster!.coordinates(DEMO_TASK_ID), { timeout: 5_000 }).toBe(true);
    expect(other.engine.summary(DEMO_TASK_ID)).toMatchObject({ status: 'running', phase: 'waiting-for-clients' });

    // Redis comes back empty (a restart without persistence): the lease and the token counter are gone,
    // while the database's fence remembers the last token. The process loses the task, then takes it
    // back with a token above the fence instead of being refused for ever.
    const fence = await other.storage.fenceToken(DEMO_TASK_ID);
    expect(fence).toBeGreaterThanOrEqual(2);
    const redis = new Redis(TEST_REDIS_URL);
    await redis.del(`${prefix}:lease:${DEMO_TASK_ID}`, `${prefix}:fence:${DEMO_TASK_ID}`);
    await expect.poll(async () => (await other.storage.fenceToken(DEMO_TASK_ID)) > fence && other.cluster!.coordinates(DEMO_TASK_ID), { timeout: 10_000 }).toBe(true);
    expect(other.engine.summary(DEMO_TASK_ID).status).toBe('running');
    redis.disconnect();
  });
});
