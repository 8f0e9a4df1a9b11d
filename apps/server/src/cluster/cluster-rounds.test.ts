import { writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePayload, type RoundInvite, type UpdateReceipt } from '@chorus/core';
import { openStorage } from '../storage/open-storage.js';
import { dropTestSchema, TEST_PG_URL, testSchemaName } from '../storage/pg-test-kit.test-helper.js';
import type { Storage } from '../storage/storage.js';
import { TestParticipant, fetchWeights } from '../transport/test-participant.js';
import { eventually, killHard, startServerProcess, type ServerProcess } from './cluster-process-kit.test-helper.js';
import { dropRedisPrefix, TEST_REDIS_URL, testRedisPrefix } from './redis-test-kit.test-helper.js';

/**
 * Three real server processes on one PostgreSQL schema and one Redis prefix, with participants spread
 * over them: one coordinator runs each round, uploads reach it from every process, and when it is
 * killed with -9 another process takes the task over, adopts the updates the live processes had
 * folded of the round in flight, and the next round commits.
 */
const schema = testSchemaName('chorus_cluster');
const prefix = testRedisPrefix();
const ADMIN_TOKEN = 'cluster-test-admin-token-0123456789abcdef';
const TASK = 'spread';
const LEASE_MS = 2_000;
const servers: ServerProcess[] = [];
const clients: TestParticipant[] = [];
let redis: Redis;
let storage: Storage;

const api = async (url: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
  const res = await fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
};

/** The server process holding the task's lease, and its fencing token (from Redis). */
async function coordinator(taskId = TASK): Promise<{ index: number; token: number }> {
  const v = await redis.get(`${prefix}:lease:${taskId}`);
  if (v === null) throw new Error('no coordinator');
  const index = servers.findIndex((s) => s.child.exitCode === null && s.child.signalCode === null && v.includes(`-${s.child.pid}-`));
  if (index < 0) throw new Error(`lease held by an unknown process: ${v}`);
  return { index, token: Number(v.slice(v.lastIndexOf(':') + 1)) };
}

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL);
  const env = { CHORUS_ADMIN_TOKEN: ADMIN_TOKEN, CHORUS_LEASE_MS: String(LEASE_MS), CHORUS_ROUND_RETRY_MS: '200' };
  // One process first (it creates the database tables), then two more together.
  servers.push(await startServerProcess(schema, prefix, env));
  servers.push(...(await Promise.all([startServerProcess(schema, prefix, env), startServerProcess(schema, prefix, env)])));
  storage = await openStorage({ db: TEST_PG_URL, dbSchema: schema, logger: pino({ level: 'silent' }) });
}, 90_000);

afterAll(async () => {
  if (process.env.CHORUS_TEST_KEEP_LOGS) servers.forEach((s, i) => writeFileSync(`${process.env.CHORUS_TEST_KEEP_LOGS}/server-${i}.log`, s.log()));
  for (const c of clients) c.close();
  for (const s of servers) await killHard(s);
  await storage?.close();
  redis?.disconnect();
  await dropTestSchema(schema);
  await dropRedisPrefix(prefix);
});

/** A started 2NN task (float32, rounds of all three) with `config` on top, and one participant joined on each process. */
async function threeRoundTask(config: { id: string; name: string } & Record<string, unknown>): Promise<TestParticipant[]> {
  const created = await api(servers[0]!.url, '/api/tasks', {
    template: 'mnist-2nn',
    config: { codec: 'float32', downloadCodec: 'full', rounds: { targetClients: 3, minClients: 3, minAvailable: 3, overSelection: 1, deadlineMs: 30_000 }, ...config },
    start: true,
  });
  expect(created.status).toBe(201);
  const ps: TestParticipant[] = [];
  for (const s of servers) {
    await eventually('the task on every process', async () => ((await api(s.url, `/api/tasks/${config.id}`)).status === 200 ? true : undefined));
    const p = new TestParticipant(s.url);
    clients.push(p);
    expect((await p.join(config.id)).ok).toBe(true);
    ps.push(p);
  }
  return ps;
}

describe('the round engine over three server processes', () => {
  it('a robust aggregator gets every update itself: uploads on other processes are forwarded to the coordinator', { timeout: 60_000 }, async () => {
    // Prepare: a median task, one participant per process.
    const ps = await threeRoundTask({ id: 'robust', name: 'Robust', strategy: { id: 'fedavg', options: { aggregator: 'median' } } });
    // Execute
    const v0 = await fetchWeights(servers[0]!.url, 'robust', 0);
    const invites = await Promise.all(ps.map((p) => p.waitFor<RoundInvite>(() => p.invites.find((i) => i.round === 1))));
    const fills = [0.1, 0.2, 0.9];
    const receipts = await Promise.all(ps.map((p, i) => p.upload(invites[i]!, encodePayload({ layout: v0.layout, values: new Float32Array(v0.values.length).fill(fills[i]!) }, 'float32'), 256 * 1024, 10 * (i + 1))));
    // Assert: the median (0.2) of the three individual updates, not a mean of sums (0.4).
    expect(receipts.map((r) => r.ok)).toEqual([true, true, true]);
    await Promise.all(ps.map((p) => p.waitFor(() => p.updates.find((u) => u.version === 1))));
    const v1 = await fetchWeights(servers[2]!.url, 'robust', 1);
    expect(v1.values[0]! - v0.values[0]!).toBeCloseTo(0.2, 5);
    expect((await storage.listReceipts('robust', 1)).filter((r) => r.accepted)).toHaveLength(3);
    // Every participant, whichever process holds it, hears of version 1 before it is invited to round 2
    // (the coordinator's invites to other processes' sockets queue there behind the new version).
    await Promise.all(ps.map((p) => p.waitFor(() => p.invites.find((i) => i.round === 2))));
    for (const p of ps) expect(p.heard.filter((h) => h === 'updated v1' || h === 'invite r2')).toEqual(['updated v1', 'invite r2']);
    // The coordinator opened round 2 only once every process had written version 1 to its participants.
    const lines = (i: number, msg: string) => servers[i]!.log().split('\n').filter((l) => l.includes(msg) && l.includes('"taskId":"robust"')).map((l) => JSON.parse(l) as { time: number; version?: number; round?: number });
    const { index } = await coordinator('robust');
    const opened = lines(index, '"round opened"').find((l) => l.round === 2)!.time;
    const written = servers.map((_, i) => lines(i, 'new version written').find((l) => l.version === 1)?.time);
    expect(written.every((t) => t !== undefined && t <= opened)).toBe(true);
    for (const p of ps) p.close();
  });

  it("keeps the coverage signature of every participant's update, whichever process received it (Oort's diversity with partial sums)", { timeout: 60_000 }, async () => {
    // Prepare: a FedAvg task (its uploads fold into partial sums where they land) ranked by coverage, one participant per process.
    const ps = await threeRoundTask({ id: 'diverse', name: 'Diverse', selection: { id: 'oort', options: { diversity: 0.5 } } });
    // Execute: participant i raises label i and lowers label i + 5 of the output layer's bias (the last 10 values).
    const v0 = await fetchWeights(servers[0]!.url, 'diverse', 0);
    const invites = await Promise.all(ps.map((p) => p.waitFor<RoundInvite>(() => p.invites.find((i) => i.round === 1))));
    const update = (i: number) => {
      const values = new Float32Array(v0.values.length).fill(0.001);
      values.fill(0, values.length - 10);
      values[values.length - 10 + i] = 0.5;
      values[values.length - 5 + i] = -0.5;
      return encodePayload({ layout: v0.layout, values }, 'float32');
    };
    const receipts = await Promise.all(ps.map((p, i) => p.upload(invites[i]!, update(i), 256 * 1024, 10)));
    expect(receipts.map((r) => r.ok)).toEqual([true, true, true]);
    await Promise.all(ps.map((p) => p.waitFor(() => p.updates.find((u) => u.version === 1))));
    // Assert: three signatures, each the unit vector of its own pattern, stored under the pseudonymous ids.
    const rows = await eventually('three signatures stored', async () => {
      const h = await storage.loadParticipantHistory!('diverse');
      return h.filter((r) => r.signature !== null).length === 3 ? h : undefined;
    });
    const raisedAndLowered = rows.map((r) => {
      const sig = r.signature!.map((x) => Math.round(x * 1000) / 1000);
      return [sig.indexOf(0.707), sig.indexOf(-0.707)];
    });
    expect(raisedAndLowered.sort()).toEqual([[0, 5], [1, 6], [2, 7]]);
    for (const p of ps) p.close();
  });

  // B on the same process as A: that process's own gate holds it. On a third process: the coordinator
  // counts A's running upload against what B's process may run (each would otherwise run the round's
  // whole remainder, and B would upload in full to be refused).
  it.each([
    ['the same process as A', 'gated', 1],
    ['a third process', 'gated-apart', 2],
  ])('an over-selected participant on %s waits at update:begin and is told ROUND_CLOSED without uploading', { timeout: 60_000 }, async (_where, taskId, bOffset) => {
    // Prepare: a round that needs one update, two invited, neither on the process that coordinates.
    const created = await api(servers[1]!.url, '/api/tasks', {
      template: 'mnist-2nn',
      config: { id: taskId, name: 'Gated', codec: 'float32', downloadCodec: 'full', rounds: { targetClients: 1, minClients: 1, minAvailable: 2, overSelection: 2, deadlineMs: 30_000 } },
    });
    expect(created.status).toBe(201);
    for (const s of servers) await eventually('the task on every process', async () => ((await api(s.url, `/api/tasks/${taskId}`)).status === 200 ? true : undefined));
    const { index } = await eventually('a coordinator', async () => coordinator(taskId).catch(() => undefined));
    const remote = servers[(index + 1) % 3]!;
    const [a, b] = [new TestParticipant(remote.url), new TestParticipant(servers[(index + bOffset) % 3]!.url)];
    clients.push(a, b);
    expect((await a.join(taskId)).ok).toBe(true);
    expect((await b.join(taskId)).ok).toBe(true);
    expect((await api(servers[index]!.url, `/api/tasks/${taskId}/start`, {})).status).toBe(200);
    const [ia, ib] = await Promise.all([a, b].map((p) => p.waitFor<RoundInvite>(() => p.invites.find((i) => i.round === 1))));
    const v0 = await fetchWeights(remote.url, taskId, 0);
    const payload = encodePayload({ layout: v0.layout, values: new Float32Array(v0.values.length).fill(0.1) }, 'float32');
    const beginOf = (invite: RoundInvite) => ({ taskId, roundId: invite.roundId, version: invite.version, numExamples: 10, byteLength: payload.byteLength, metrics: { loss: 1 } });
    // Execute: A is admitted and uploads; B begins while A's upload runs, then A's update completes the round.
    const beganA = await a.request<{ uploadId: string }>('update:begin', beginOf(ia!));
    expect(beganA.ok).toBe(true);
    const beganB = b.request<{ uploadId: string }>('update:begin', beginOf(ib!));
    for (let seq = 0, off = 0; off < payload.byteLength; seq++, off += 256 * 1024) {
      expect((await a.request('update:chunk', { uploadId: beganA.ok ? beganA.data.uploadId : '', seq, data: payload.subarray(off, off + 256 * 1024) })).ok).toBe(true);
    }
    const endA = await a.request<UpdateReceipt>('update:end', { uploadId: beganA.ok ? beganA.data.uploadId : '' });
    // Assert: A's update was taken; B was never let upload (the coordinator had one slot, A held it) and hears the round is over.
    expect(endA).toMatchObject({ ok: true, data: { accepted: true } });
    const answerB = await beganB;
    expect(answerB.ok).toBe(false);
    expect(answerB.ok ? null : answerB.error.code).toBe('ROUND_CLOSED');
    await api(servers[index]!.url, `/api/tasks/${taskId}/stop`, {});
  });

  it('records declines and disconnections on other processes in the round, exactly', { timeout: 60_000 }, async () => {
    // Prepare: one participant per process; the round needs two updates.
    const created = await api(servers[1]!.url, '/api/tasks', {
      template: 'mnist-2nn',
      config: { id: 'ledger', name: 'Ledger', codec: 'float32', rounds: { targetClients: 3, minClients: 2, minAvailable: 3, overSelection: 1, deadlineMs: 30_000 } },
      start: true,
    });
    expect(created.status).toBe(201);
    const ps: TestParticipant[] = [];
    for (const s of servers) {
      await eventually('the task on every process', async () => ((await api(s.url, '/api/tasks/ledger')).status === 200 ? true : undefined));
      const p = new TestParticipant(s.url);
      clients.push(p);
      expect((await p.join('ledger')).ok).toBe(true);
      ps.push(p);
    }
    const invites = await Promise.all(ps.map((p) => p.waitFor<RoundInvite>(() => p.invites.find((i) => i.round === 1))));
    const { index } = await coordinator('ledger');
    const [decliner, leaver] = [ps[(index + 1) % 3]!, ps[(index + 2) % 3]!];
    // Execute: the coordinator's own participant uploads; one on another process declines, one there leaves.
    const v0 = await fetchWeights(servers[0]!.url, 'ledger', 0);
    expect((await ps[index]!.upload(invites[index]!, encodePayload({ layout: v0.layout, values: new Float32Array(v0.values.length).fill(0.1) }, 'float32'), 256 * 1024, 10)).ok).toBe(true);
    expect(await decliner.request('round:decline', { taskId: 'ledger', roundId: invites[0]!.roundId, reason: 'battery low' })).toEqual({ ok: true, data: { ok: true } });
    leaver.close();
    // Assert: the round settles at once (everyone answered), one update short of its minimum, with both failures named.
    const round = await eventually('round 1 closed', async () => (await storage.listRounds('ledger', 5)).find((r) => r.round === 1 && r.state !== 'collecting'));
    expect(round).toMatchObject({ state: 'abandoned', selected: 3, participants: 1 });
    expect([...round.failures].sort((a, b) => a.code.localeCompare(b.code))).toEqual([
      { participantId: decliner.participantId, code: 'DECLINED', reason: 'battery low' },
      { participantId: leaver.participantId, code: 'DISCONNECTED', reason: 'the connection closed during the round' },
    ]);
    expect((await storage.listReceipts('ledger', 1)).map((r) => [r.participantId, r.accepted])).toEqual([[ps[index]!.participantId, true]]);
    await api(servers[0]!.url, '/api/tasks/ledger/stop', {});
    for (const p of ps) p.close();
  });

  it('commits rounds with updates from every process; after kill -9 of the coordinator another takes over and the next round commits', { timeout: 120_000 }, async () => {
    // Prepare: the task is created on the last process, two participants join on each process, and
    // the operator starts it through the first one (whichever coordinates it).
    const created = await api(servers[2]!.url, '/api/tasks', {
      template: 'mnist-2nn',
      config: { id: TASK, name: 'Spread', codec: 'float32', downloadCodec: 'full', rounds: { targetClients: 6, minClients: 4, minAvailable: 4, overSelection: 1, deadlineMs: 30_000 } },
    });
    expect(created.status).toBe(201);
    const home = new Map<string, number>(); // participant id → the process it is connected to
    const byProcess: TestParticipant[][] = [[], [], []];
    for (let i = 0; i < 6; i++) {
      const at = i % 3;
      await eventually('the task on every process', async () => ((await api(servers[at]!.url, `/api/tasks/${TASK}`)).status === 200 ? true : undefined));
      const p = new TestParticipant(servers[at]!.url);
      clients.push(p);
      expect((await p.join(TASK)).ok).toBe(true);
      home.set(p.participantId, at);
      byProcess[at]!.push(p);
    }
    const first = await coordinator();
    const started = await api(servers[(first.index + 1) % 3]!.url, `/api/tasks/${TASK}/start`, {});
    expect(started).toMatchObject({ status: 200, json: { status: 'running' } });

    // Execute: round 1, everyone uploads to the process it is connected to (its own delta and weight).
    const v0 = await fetchWeights(servers[0]!.url, TASK, 0);
    const all = byProcess.flat();
    const fills = all.map((_, i) => 0.01 * (i + 1) * (i % 2 === 0 ? 1 : -1));
    const weights = all.map((_, i) => 10 * (i + 1));
    const invites = await Promise.all(all.map((p) => p.waitFor<RoundInvite>(() => p.invites.find((i) => i.round === 1))));
    const receipts = await Promise.all(
      all.map((p, i) => p.upload(invites[i]!, encodePayload({ layout: v0.layout, values: new Float32Array(v0.values.length).fill(fills[i]!) }, 'float32'), 256 * 1024, weights[i]!)),
    );

    // Assert: every update accepted; version 1 reaches the participants of every process; the
    // stored receipts count two accepted updates from each process.
    expect(receipts.map((r) => r.ok && (r.data as { accepted: boolean }).accepted)).toEqual([true, true, true, true, true, true]);
    await Promise.all(all.map((p) => p.waitFor(() => p.updates.find((u) => u.version === 1))));
    const round1 = await storage.listReceipts(TASK, 1);
    const perProcess = [0, 0, 0];
    for (const r of round1) if (r.accepted) perProcess[home.get(r.participantId)!]! += 1;
    expect(perProcess).toEqual([2, 2, 2]);
    expect((await storage.listRounds(TASK, 10)).find((r) => r.round === 1)).toMatchObject({ state: 'committed', selected: 6, participants: 6 });
    // The partial sums of the other processes merged into exactly the example-weighted mean of all six.
    const mean = fills.reduce((a, f, i) => a + f * weights[i]!, 0) / weights.reduce((a, w) => a + w, 0);
    const v1 = await fetchWeights(servers[1]!.url, TASK, 1);
    for (const j of [0, 1000, v0.values.length - 1]) expect(v1.values[j]! - v0.values[j]!).toBeCloseTo(mean, 5);
    const delta = encodePayload({ layout: v0.layout, values: new Float32Array(v0.values.length).fill(0.01) }, 'float32');

    // Execute: round 2 opens; the participants of the other processes upload, then the coordinator dies.
    const coord = await coordinator();
    const survivors = byProcess.filter((_, i) => i !== coord.index).flat();
    const invites2 = await Promise.all(survivors.map((p) => p.waitFor<RoundInvite>(() => p.invites.find((i) => i.round === 2))));
    // A process that does not coordinate the task still shows the coordinator's round and every participant.
    const seen = await api(servers[(coord.index + 1) % 3]!.url, `/api/tasks/${TASK}`);
    expect(seen.json.task).toMatchObject({ status: 'running', phase: 'collecting', latestVersion: 1, connected: 6, currentRound: { round: 2, selected: 6 } });
    const early = await Promise.all(survivors.slice(0, 2).map((p, i) => p.upload(invites2[i]!, delta, 64 * 1024, 10)));
    expect(early.map((r) => r.ok)).toEqual([true, true]);
    const killedAt = Date.now();
    await killHard(servers[coord.index]!);

    // Assert: another process takes the task over within the lease time (plus a lease round), with a
    // larger fencing token; round 2 is abandoned. The new coordinator adopts the two uploads the live
    // processes had folded, so the restarted round invites only the two survivors who had not uploaded.
    const next = await eventually('a new coordinator', async () => {
      const c = await coordinator().catch(() => undefined);
      return c && c.index !== coord.index ? c : undefined;
    });
    expect(next.token).toBeGreaterThan(coord.token);
    expect(Date.now() - killedAt).toBeLessThan(LEASE_MS * 3);
    const uploaded = survivors.slice(0, 2);
    const rest = survivors.slice(2);
    const invites3 = await Promise.all(rest.map((p) => p.waitFor<RoundInvite>(() => p.invites.find((i) => i.round > 2), 20_000)));
    expect(new Set(invites3.map((i) => i.round)).size).toBe(1);
    // Every survivor, on either live process, was told the abandoned round is over (it stops uploading for it).
    const cancels = await Promise.all(survivors.map((p) => p.waitFor(() => p.cancels.find((c) => c.roundId === invites2[0]!.roundId))));
    expect(cancels.map((c) => c.reason)).toEqual(survivors.map(() => 'the task moved to another server process'));
    expect(invites3[0]!.version).toBe(1);
    // The restarted round asked the abandoned round's participants first (they hold version 1 already).
    const picks = await eventually('the restarted round\'s picks', async () => (await storage.getRoundSelection!(TASK, invites3[0]!.round)) ?? undefined);
    expect(picks.reasons.map((r) => [r.participantId, r.kind]).sort()).toEqual(rest.map((p) => [p.participantId, 'resume']).sort());
    const delta2 = encodePayload({ layout: v1.layout, values: new Float32Array(v1.values.length).fill(-0.03) }, 'float32');
    const receipts3 = await Promise.all(rest.map((p, i) => p.upload(invites3[i]!, delta2, 64 * 1024, 10)));
    expect(receipts3.map((r) => r.ok)).toEqual([true, true]);
    await Promise.all(survivors.map((p) => p.waitFor(() => p.updates.find((u) => u.version === 2), 20_000)));
    expect(uploaded.every((p) => !p.invites.some((i) => i.round === invites3[0]!.round))).toBe(true);
    // Version 2 is the mean of all four updates: the two adopted (+0.01) and the two new (−0.03), 10 examples each.
    const v2 = await fetchWeights(servers[next.index]!.url, TASK, 2);
    for (const j of [0, 1000, v1.values.length - 1]) expect(v2.values[j]! - v1.values[j]!).toBeCloseTo(-0.01, 5);
    // Kill → next committed version, the participants' own upload time included (the scale target is 10 s).
    const failoverMs = Date.now() - killedAt;
    expect(failoverMs).toBeLessThan(10_000);
    if (process.env.CHORUS_TEST_KEEP_LOGS) writeFileSync(`${process.env.CHORUS_TEST_KEEP_LOGS}/failover-ms.txt`, String(failoverMs));

    // No committed version lost or duplicated: versions 0, 1, 2, one per number; round 2 abandoned.
    const versions = (await storage.listVersions(TASK, 100)).map((v) => v.version).sort((a, b) => a - b);
    expect(versions).toEqual([0, 1, 2]);
    const rounds = await storage.listRounds(TASK, 10);
    expect(rounds.find((r) => r.round === 2)?.state).toBe('abandoned');
    expect(rounds.find((r) => r.round === invites3[0]!.round)).toMatchObject({ state: 'committed', participants: 4, selected: 2 });

    // A stale coordinator (the killed one's token, as if it had only been paused) cannot commit.
    const stale = storage.commitRound(
      { taskId: TASK, round: invites3[0]!.round, closedAt: Date.now(), participants: 0, failures: [], bytesUp: 0, bytesDown: 0, metrics: {}, receipts: [] },
      { taskId: TASK, version: 3, round: invites3[0]!.round, payload: Uint8Array.from([1]), strategyState: null, metrics: {}, createdAt: Date.now() },
      coord.token,
    );
    await expect(stale).rejects.toMatchObject({ code: 'NOT_TASK_OWNER' });
    expect((await storage.latestVersion(TASK))!.version).toBe(2);
  });
});
