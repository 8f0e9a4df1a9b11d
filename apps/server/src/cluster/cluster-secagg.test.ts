import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../index.js';
import { dropTestSchema, TEST_PG_URL, testSchemaName } from '../storage/pg-test-kit.test-helper.js';
import { TestParticipant, fetchWeights } from '../transport/test-participant.js';
import { dropRedisPrefix, TEST_REDIS_URL, testRedisPrefix } from './redis-test-kit.test-helper.js';

/**
 * Secure aggregation (SecAgg+) with participants on three server processes: the stages run on the
 * task's coordinator; the other processes forward their participants' secagg messages to it (and
 * its refusals back), and its stage messages reach those participants through the Socket.IO adapter.
 */
const schema = testSchemaName('chorus_secagg');
const prefix = testRedisPrefix();
const ADMIN_TOKEN = 'cluster-secagg-admin-token-0123456789';
const servers: RunningServer[] = [];
const clients: TestParticipant[] = [];

beforeAll(async () => {
  const cfg = { port: 0, host: '127.0.0.1', db: TEST_PG_URL, dbSchema: schema, redis: TEST_REDIS_URL, redisPrefix: prefix, leaseMs: 2_000, roundRetryDelayMs: 100, demoTask: false, evaluate: false, adminToken: ADMIN_TOKEN };
  servers.push(await startServer(cfg, { logger: pino({ level: 'silent' }) }));
  servers.push(...(await Promise.all([1, 2].map(() => startServer(cfg, { logger: pino({ level: 'silent' }) })))));
}, 90_000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const s of servers) await s.close();
  await dropTestSchema(schema);
  await dropRedisPrefix(prefix);
});

const data = { kind: 'tabular', inputShape: [4], numClasses: 3, features: { names: ['a', 'b', 'c', 'd'], mean: [0, 0, 0, 0], std: [1, 1, 1, 1], labelColumn: 'y' } };
const secureAggregation = { neighbours: 3, threshold: 2, quantizationBits: 12, stageDeadlineMs: 8_000 };

describe('secure aggregation over several server processes', () => {
  it('selects participants of every process and commits the mean of their masked updates', { timeout: 90_000 }, async () => {
    // Prepare: a secure task created through the first process; six participants, two on each.
    const created = await fetch(`${servers[0]!.url}/api/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        template: 'tabular-mlp',
        config: { id: 'spread-secure', name: 'Secure', data, secureAggregation, limits: { maxUpdateNorm: 2 }, rounds: { targetClients: 6, minClients: 6, minAvailable: 6, overSelection: 1, deadlineMs: 30_000, maxRounds: 1 } },
        start: true,
      }),
    });
    expect(created.status).toBe(201);
    const v0 = await fetchWeights(servers[0]!.url, 'spread-secure', 0);
    const n = v0.values.length;
    const delta = (i: number) => Float32Array.from({ length: n }, (_, k) => Math.sin(k * 0.1 + i * 0.3) * 0.02);
    const errors: string[] = [];
    const home = new Map<string, number>();
    const N = 6;
    for (let i = 0; i < N; i++) {
      const c = new TestParticipant(servers[i % 3]!.url);
      clients.push(c);
      c.answerSecureRounds('spread-secure', { update: delta(i), examples: 100, errors, label: String(i) });
      expect((await c.join('spread-secure')).ok).toBe(true);
      home.set(c.participantId, i % 3);
    }

    // Execute: the round runs by itself once six are connected.
    await Promise.all(clients.map((c) => c.waitFor(() => c.updates.find((u) => u.version === 1), 60_000)));

    // Assert: no stage message was refused; the new version moved by the mean of all six updates.
    expect(errors).toEqual([]);
    const v1 = await fetchWeights(servers[1]!.url, 'spread-secure', 1);
    let err = 0;
    let norm = 0;
    for (let k = 0; k < n; k++) {
      let mean = 0;
      for (let i = 0; i < N; i++) mean += delta(i)[k]! / N;
      err += (v1.values[k]! - v0.values[k]! - mean) ** 2;
      norm += mean ** 2;
    }
    expect(Math.sqrt(err / norm)).toBeLessThan(0.05);
    // Every process's participants are in the sum: two accepted receipts per process.
    const receipts = await servers[2]!.storage.listReceipts('spread-secure', 1);
    const perProcess = [0, 0, 0];
    for (const r of receipts) if (r.accepted) perProcess[home.get(r.participantId)!]! += 1;
    expect(perProcess).toEqual([2, 2, 2]);
  });
});
