import { writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { encodePayload, type RoundInvite } from '@chorus/core';
import { startServer, type RunningServer } from '../index.js';
import { openStorage } from '../storage/open-storage.js';
import { dropTestSchema, TEST_PG_URL, testSchemaName } from '../storage/pg-test-kit.test-helper.js';
import type { Storage } from '../storage/storage.js';
import { TestParticipant, fetchWeights } from '../transport/test-participant.js';
import { eventually } from './cluster-process-kit.test-helper.js';
import { dropRedisPrefix, TEST_REDIS_URL, testRedisPrefix } from './redis-test-kit.test-helper.js';

/**
 * A TCP proxy (node:net) between a server and the shared PostgreSQL, which the test can cut (every
 * connection destroyed, new ones refused) and restore — PostgreSQL itself keeps running.
 */
class PgProxy {
  private readonly open = new Set<Socket>();
  private down = false;
  private server: Server | null = null;
  port = 0;

  async start(target: URL): Promise<void> {
    this.server = createServer((client) => {
      if (this.down) return void client.destroy();
      const upstream = tcpConnect(Number(target.port || 5432), target.hostname);
      for (const s of [client, upstream]) {
        this.open.add(s);
        s.on('close', () => this.open.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((ok) => this.server!.listen(0, '127.0.0.1', ok));
    this.port = (this.server.address() as { port: number }).port;
  }

  cut(): void {
    this.down = true;
    for (const s of this.open) s.destroy();
  }

  restore(): void {
    this.down = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((ok) => this.server?.close(ok));
  }
}

const schema = testSchemaName('chorus_pg_outage');
const prefix = testRedisPrefix();
const ADMIN_TOKEN = 'pg-outage-test-admin-token-0123456789';
const proxy = new PgProxy();
const clients: TestParticipant[] = [];
let server: RunningServer | null = null;
let storage: Storage | null = null;

afterAll(async () => {
  for (const c of clients) c.close();
  proxy.restore();
  await server?.close();
  await proxy.close();
  await storage?.close();
  await dropTestSchema(schema);
  await dropRedisPrefix(prefix);
});

describe('PostgreSQL unreachable for a few seconds during a round', () => {
  it('says so in the log and in /readyz, recovers by itself, loses nothing committed, and the next round commits', { timeout: 90_000 }, async () => {
    // Prepare: one server (Redis-coordinated) reaching PostgreSQL through the proxy; a task of two participants.
    await proxy.start(new URL(TEST_PG_URL));
    const url = new URL(TEST_PG_URL);
    url.host = `127.0.0.1:${proxy.port}`;
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    server = await startServer(
      { port: 0, host: '127.0.0.1', db: url.toString(), dbSchema: schema, redis: TEST_REDIS_URL, redisPrefix: prefix, leaseMs: 2_000, roundRetryDelayMs: 200, demoTask: false, evaluate: false, adminToken: ADMIN_TOKEN },
      { logger },
    );
    storage = await openStorage({ db: TEST_PG_URL, dbSchema: schema, logger: pino({ level: 'silent' }) });
    const base = server.url;
    const readyz = async () => {
      const res = await fetch(`${base}/readyz`);
      return { status: res.status, body: (await res.json()) as { error?: { message: string } } };
    };
    const created = await fetch(`${base}/api/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ template: 'mnist-2nn', config: { id: 'outage', name: 'Outage', codec: 'float32', downloadCodec: 'full', rounds: { targetClients: 2, minClients: 2, minAvailable: 2, overSelection: 1, deadlineMs: 30_000 } }, start: true }),
    });
    expect(created.status).toBe(201);
    const ps = [new TestParticipant(base), new TestParticipant(base)];
    clients.push(...ps);
    for (const p of ps) expect((await p.join('outage')).ok).toBe(true);
    const v0 = await fetchWeights(base, 'outage', 0);
    const delta = encodePayload({ layout: v0.layout, values: new Float32Array(v0.values.length).fill(0.01) }, 'float32');
    const invites = await Promise.all(ps.map((p) => p.waitFor<RoundInvite>(() => p.invites.find((i) => i.round === 1))));
    // Participants answer every later invite (a retried round) as a browser would; an upload cut
    // short when the test ends is of no interest.
    const answered = new Set<string>();
    const answerNewInvites = () => {
      for (const [i, p] of ps.entries()) {
        for (const inv of p.invites.filter((x) => x.round > 1 && !answered.has(`${i}:${x.roundId}`))) {
          answered.add(`${i}:${inv.roundId}`);
          p.upload(inv, delta, 256 * 1024, 10 + i).catch(() => undefined);
        }
      }
    };

    // Execute: PostgreSQL goes away mid-round; both updates arrive while it is gone (the round closes into the outage).
    proxy.cut();
    const down = await eventually('readyz 503', async () => {
      const r = await readyz();
      return r.status === 503 ? r : undefined;
    });
    await Promise.all(ps.map((p, i) => p.upload(invites[i]!, delta, 256 * 1024, 10)));
    await new Promise((r) => setTimeout(r, 3_000));
    const stillDown = await readyz();
    proxy.restore();

    // Assert: /readyz said why while it was down, and the log said so.
    expect(down.body.error?.message).toMatch(/database/);
    expect(stillDown.status).toBe(503);
    expect(lines.some((l) => l.includes('PostgreSQL connection lost') && l.includes('"level":40'))).toBe(true);
    // It recovers by itself: ready again, and a round commits (round 1 itself, or a retried one).
    await eventually('readyz 200', async () => ((await readyz()).status === 200 ? true : undefined));
    const next = await eventually(
      'a version after the outage',
      async () => {
        answerNewInvites();
        const latest = await storage!.latestVersion('outage');
        return latest && latest.version >= 1 ? latest.version : undefined;
      },
      45_000,
    );
    expect(next).toBeGreaterThanOrEqual(1);
    // Nothing committed is lost or doubled: versions contiguous from 0; the task still runs.
    const versions = (await storage.listVersions('outage', 100)).map((v) => v.version).sort((a, b) => a - b);
    expect(versions).toEqual(versions.map((_, i) => i));
    const summary = (await (await fetch(`${base}/api/tasks/outage`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { task: { status: string } };
    expect(summary.task.status).toBe('running');
    if (process.env.CHORUS_TEST_KEEP_LOGS) writeFileSync(`${process.env.CHORUS_TEST_KEEP_LOGS}/pg-outage.log`, lines.join(''));
    // No round is left open in the database behind the one running now (the outage's rounds are closed).
    const rounds = await storage.listRounds('outage', 50);
    const newest = Math.max(...rounds.map((r) => r.round));
    expect(rounds.filter((r) => r.state === 'collecting' && r.round < newest).map((r) => r.round)).toEqual([]);
    // And the round after that commits too: the task is not stuck.
    const after = next + 1;
    await eventually(
      `version ${after}`,
      async () => {
        answerNewInvites();
        return ((await storage!.latestVersion('outage'))?.version ?? 0) >= after ? true : undefined;
      },
      30_000,
    );
  });
});
