import pino from 'pino';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../index.js';
import { dropTestSchema, TEST_PG_URL, testSchemaName } from '../storage/pg-test-kit.test-helper.js';
import { TestParticipant } from '../transport/test-participant.js';
import { eventually } from './cluster-process-kit.test-helper.js';
import { dropRedisPrefix, TEST_REDIS_URL, testRedisPrefix } from './redis-test-kit.test-helper.js';

/** Participant counts over two server processes: the metrics and the console count every process's participants once. */
const schema = testSchemaName('chorus_gauges');
const prefix = testRedisPrefix();
const ADMIN_TOKEN = 'cluster-gauges-admin-token-0123456789';
const servers: RunningServer[] = [];
const clients: TestParticipant[] = [];
const consoles: Socket[] = [];

beforeAll(async () => {
  const cfg = { port: 0, host: '127.0.0.1', db: TEST_PG_URL, dbSchema: schema, redis: TEST_REDIS_URL, redisPrefix: prefix, leaseMs: 2_000, demoTask: false, evaluate: false, adminToken: ADMIN_TOKEN };
  servers.push(await startServer(cfg, { logger: pino({ level: 'silent' }) }));
  servers.push(await startServer(cfg, { logger: pino({ level: 'silent' }) }));
}, 60_000);

afterAll(async () => {
  for (const c of [...clients.map((p) => p.socket), ...consoles]) c.close();
  for (const s of servers) await s.close();
  await dropTestSchema(schema);
  await dropRedisPrefix(prefix);
});

/** chorus_participants_connected for the task, summed over backends, as one process reports it. */
async function gauge(s: RunningServer, taskId: string): Promise<number> {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^chorus_participants_connected\{([^}]*)\} (\d+)/gm)) if (m[1]!.includes(`task="${taskId}"`)) n += Number(m[2]);
  return n;
}

describe('participant counts over several processes', () => {
  it('counts each participant once in the metrics and shows every process’s participants on any console', { timeout: 60_000 }, async () => {
    // Prepare: a task (not started: no rounds); one participant on the first process, two on the second.
    const created = await fetch(`${servers[0]!.url}/api/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ template: 'mnist-2nn', config: { id: 'counted', name: 'Counted' } }),
    });
    expect(created.status).toBe(201);
    for (const s of [servers[0]!, servers[1]!, servers[1]!]) {
      const p = new TestParticipant(s.url);
      clients.push(p);
      expect((await p.join('counted')).ok).toBe(true);
    }
    const coordinator = await eventually('a coordinator', async () => {
      const i = servers.findIndex((s) => s.cluster?.coordinates('counted'));
      return i < 0 ? undefined : i;
    });
    const other = 1 - coordinator;

    // Assert: the processes' gauges sum to three (the coordinator reports the task's participants on both).
    const sum = await eventually('three participants counted', async () => {
      const n = (await gauge(servers[0]!, 'counted')) + (await gauge(servers[1]!, 'counted'));
      return n === 3 ? n : undefined;
    });
    expect(sum).toBe(3);
    expect(await gauge(servers[other]!, 'counted')).toBe(0);

    // A console on the process that does not coordinate the task sees all three, on subscribing and in the feed.
    const consoleSocket = connect(`${servers[other]!.url}/admin`, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token: ADMIN_TOKEN } });
    consoles.push(consoleSocket);
    await new Promise<void>((ok, fail) => {
      consoleSocket.once('connect', ok);
      consoleSocket.once('connect_error', fail);
    });
    const feed: { taskId: string; connected: number }[] = [];
    consoleSocket.on('participants', (e: { taskId: string; connected: number }) => feed.push(e));
    const ack = (await consoleSocket.timeout(5000).emitWithAck('subscribe', { taskId: 'counted' })) as { ok: boolean; data?: { connected: number } };
    expect(ack).toMatchObject({ ok: true, data: { connected: 3 } });
    // One more participant joins on the console's process: the feed says four, never a per-process count.
    const late = new TestParticipant(servers[other]!.url);
    clients.push(late);
    expect((await late.join('counted')).ok).toBe(true);
    await eventually('the feed at four', async () => (feed.some((e) => e.taskId === 'counted' && e.connected === 4) ? true : undefined), 10_000);
    expect(feed.filter((e) => e.taskId === 'counted').every((e) => e.connected >= 3)).toBe(true);
  });
});
