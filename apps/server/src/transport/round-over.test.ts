import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodePayload, type RoundInvite, type UpdateChunkResponse } from '@chorus/core';
import { startServer, type RunningServer, type ServerConfig } from '../index.js';
import { TestParticipant, fetchWeights } from './test-participant.js';

/** Behaviour under load, with a real server and real Socket.IO clients: who may upload, when a round ends, how an upload ends. */
let dir: string;
let server: RunningServer | undefined;
const clients: TestParticipant[] = [];
const ADMIN_TOKEN = 'round-over-test-admin-token-0123456789';

async function start(rounds: Record<string, unknown>, extra: Partial<ServerConfig> = {}): Promise<RunningServer> {
  dir = mkdtempSync(join(tmpdir(), 'chorus-round-over-'));
  server = await startServer({ port: 0, host: '127.0.0.1', db: join(dir, 's.sqlite'), dbSync: 'NORMAL', demoTask: false, logLevel: 'silent', adminToken: ADMIN_TOKEN, roundRetryDelayMs: 100, ...extra }, { evaluate: null });
  const res = await fetch(`${server.url}/api/tasks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ template: 'mnist-2nn', config: { id: 't', name: 'T', codec: 'int8', rounds: { deadlineMs: 60_000, ...rounds } }, start: true }),
  });
  expect(res.status).toBe(201);
  return server;
}

function participant(): TestParticipant {
  const p = new TestParticipant(server!.url);
  clients.push(p);
  return p;
}

/** `n` participants joined, each with its first invite (a round may wait for all of them). */
async function joined(n = 1): Promise<{ p: TestParticipant; invite: RoundInvite }[]> {
  const ps = Array.from({ length: n }, () => participant());
  for (const p of ps) expect((await p.join('t')).ok).toBe(true);
  return Promise.all(ps.map(async (p) => ({ p, invite: await p.waitFor(() => p.invites[0]) })));
}

async function validUpdate(): Promise<Uint8Array> {
  const v0 = await fetchWeights(server!.url, 't', 0);
  return encodePayload({ layout: v0.layout, values: new Float32Array(v0.values.length).fill(0.001) }, 'int8');
}

const begin = (invite: RoundInvite, bytes: Uint8Array) => ({ taskId: 't', roundId: invite.roundId, version: invite.version, numExamples: 10, byteLength: bytes.byteLength, metrics: {} });

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('a round under load', () => {
  it('makes an over-selected participant wait at update:begin and tells it ROUND_CLOSED the moment the round has its updates: no byte of it is sent', async () => {
    await start({ targetClients: 1, minClients: 1, overSelection: 2, minAvailable: 2 });
    const [a, b] = [participant(), participant()];
    expect((await a.join('t')).ok).toBe(true);
    expect((await b.join('t')).ok).toBe(true);
    const [ia, ib] = [await a.waitFor(() => a.invites[0]), await b.waitFor(() => b.invites[0])];
    expect(ia.roundId).toBe(ib.roundId);
    const bytes = await validUpdate();

    const aBegin = await a.request<{ uploadId: string }>('update:begin', begin(ia, bytes));
    expect(aBegin.ok).toBe(true);
    // b waits: the round needs one update and one upload is already running.
    const bBegin = b.request('update:begin', begin(ib, bytes));
    await new Promise((r) => setTimeout(r, 200));
    if (!aBegin.ok) return;
    expect((await a.request('update:chunk', { uploadId: aBegin.data.uploadId, seq: 0, data: bytes })).ok).toBe(true);
    expect(await a.request('update:end', { uploadId: aBegin.data.uploadId })).toMatchObject({ ok: true, data: { accepted: true } });

    expect(await bBegin).toMatchObject({ ok: false, error: { code: 'ROUND_CLOSED', retryable: true } });
    expect(await b.waitFor(() => b.cancels.find((c) => c.roundId === ib.roundId))).toBeTruthy();
    await b.waitFor(() => b.updates.find((u) => u.version === ia.version + 1));
  });

  it('lets the waiting participant in when the running upload fails, so the round still gets its update', async () => {
    await start({ targetClients: 1, minClients: 1, overSelection: 2, minAvailable: 2 });
    const [a, b] = [participant(), participant()];
    expect((await a.join('t')).ok).toBe(true);
    expect((await b.join('t')).ok).toBe(true);
    const [ia, ib] = [await a.waitFor(() => a.invites[0]), await b.waitFor(() => b.invites[0])];
    const bytes = await validUpdate();
    const aBegin = await a.request<{ uploadId: string }>('update:begin', begin(ia, bytes));
    const bBegin = b.request<{ uploadId: string }>('update:begin', begin(ib, bytes));
    // a's connection drops mid-upload: its slot goes to b.
    a.close();
    expect(aBegin.ok).toBe(true);
    const admitted = await bBegin;
    expect(admitted.ok).toBe(true);
    if (!admitted.ok) return;
    expect((await b.request('update:chunk', { uploadId: admitted.data.uploadId, seq: 0, data: bytes })).ok).toBe(true);
    expect(await b.request('update:end', { uploadId: admitted.data.uploadId })).toMatchObject({ ok: true, data: { accepted: true } });
  });

  it('closes a round on the updates it has once every outstanding upload was refused, instead of waiting out the deadline', async () => {
    await start({ targetClients: 2, minClients: 1, overSelection: 1, minAvailable: 2, deadlineMs: 60_000 }, { uploadsPerMinute: 1 });
    const [a, b] = [participant(), participant()];
    expect((await a.join('t')).ok).toBe(true);
    expect((await b.join('t')).ok).toBe(true);
    const [ia, ib] = [await a.waitFor(() => a.invites[0]), await b.waitFor(() => b.invites[0])];
    const bytes = await validUpdate();
    expect(await a.upload(ia, bytes, 256 * 1024, 10)).toMatchObject({ ok: true, data: { accepted: true } });
    // b spends its one upload a minute on a begin it abandons, then is refused: nothing more can come from it.
    expect((await b.request('update:begin', begin(ib, bytes))).ok).toBe(true);
    expect(await b.request('update:begin', begin(ib, bytes))).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED' } });
    const started = Date.now();
    const updated = await a.waitFor(() => a.updates.find((u) => u.version === 1), 10_000);
    expect(updated.metrics.updates).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('lets an office behind one address in: 400 participants from 127.0.0.1 all join', async () => {
    await start({ targetClients: 1000, minClients: 1000 });
    const joined: boolean[] = [];
    for (let batch = 0; batch < 8; batch++) {
      const group = Array.from({ length: 50 }, () => participant());
      joined.push(...(await Promise.all(group.map(async (p) => (await p.join('t')).ok))));
    }
    expect(joined.filter(Boolean).length).toBe(400);
    expect(server!.engine.summary('t').connected).toBe(400);
  });

  it('answers events a participant sends back to back in the order it sent them, and the last capabilities update wins', async () => {
    // Events wait in the server's inbox and run a slice per turn: the queue must keep each socket's order.
    await start({ targetClients: 50 });
    const p = participant();
    expect((await p.join('t')).ok).toBe(true);
    const answered: number[] = [];
    const sends = Array.from({ length: 40 }, (_, i) =>
      p.request('capabilities', { taskId: 't', capabilities: { backend: 'wasm', numExamples: 100 + i } }).then((ack) => {
        expect(ack.ok).toBe(true);
        answered.push(i);
      }),
    );
    await Promise.all(sends);
    expect(answered).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(server!.engine.member('t', p.participantId)?.capabilities.numExamples).toBe(139);
  });
});

describe('an upload ended by its last chunk', () => {
  it('acknowledges the last chunk with the receipt, commits the round, and knows the upload no more', async () => {
    await start({ targetClients: 1, minClients: 1 });
    const [{ p, invite }] = await joined();
    const bytes = await validUpdate();
    const half = Math.ceil(bytes.byteLength / 2);
    const started = await p.request<{ uploadId: string }>('update:begin', begin(invite, bytes));
    if (!started.ok) throw new Error(started.error.message);
    const uploadId = started.data.uploadId;

    const first = await p.request<UpdateChunkResponse>('update:chunk', { uploadId, seq: 0, data: bytes.subarray(0, half) });
    expect(first).toEqual({ ok: true, data: { received: half } });
    const last = await p.request<UpdateChunkResponse>('update:chunk', { uploadId, seq: 1, data: bytes.subarray(half), last: true });
    expect(last).toMatchObject({ ok: true, data: { received: bytes.byteLength, receipt: { accepted: true } } });

    expect(await p.request('update:end', { uploadId })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect((await p.waitFor(() => p.updates.find((u) => u.version === invite.version + 1))).version).toBe(invite.version + 1);
  });

  it('refuses a last chunk that leaves the upload short, and gives its slot to the participant waiting for it', async () => {
    await start({ targetClients: 1, minClients: 1, overSelection: 2, minAvailable: 2 });
    const [a, b] = await joined(2);
    expect(a.invite.roundId).toBe(b.invite.roundId);
    const bytes = await validUpdate();
    const aBegin = await a.p.request<{ uploadId: string }>('update:begin', begin(a.invite, bytes));
    if (!aBegin.ok) throw new Error(aBegin.error.message);
    // b waits at update:begin: the round needs one update and a's upload is running.
    let bLetIn = false;
    const bBegin = b.p.request<{ uploadId: string }>('update:begin', begin(b.invite, bytes)).finally(() => (bLetIn = true));
    await new Promise((r) => setTimeout(r, 200));
    expect(bLetIn).toBe(false);

    const short = await a.p.request('update:chunk', { uploadId: aBegin.data.uploadId, seq: 0, data: bytes.subarray(0, 100), last: true });
    expect(short).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(short.ok ? '' : short.error.message).toContain(`after 100 of the declared ${bytes.byteLength} bytes`);

    // a is still connected, yet its slot is free: b is let in and its update makes the round.
    const bStarted = await bBegin;
    if (!bStarted.ok) throw new Error(bStarted.error.message);
    const receipt = await b.p.request<UpdateChunkResponse>('update:chunk', { uploadId: bStarted.data.uploadId, seq: 0, data: bytes, last: true });
    expect(receipt).toMatchObject({ ok: true, data: { receipt: { accepted: true } } });
  });

  it('refuses a `last` that is not true, and still ends uploads with update:end for clients that send it', async () => {
    await start({ targetClients: 1, minClients: 1 });
    const [{ p, invite }] = await joined();
    const bytes = await validUpdate();
    const started = await p.request<{ uploadId: string }>('update:begin', begin(invite, bytes));
    if (!started.ok) throw new Error(started.error.message);
    expect(await p.request('update:chunk', { uploadId: started.data.uploadId, seq: 0, data: bytes, last: 'yes' })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(await p.upload(invite, bytes, 64 * 1024, 10, 'message')).toMatchObject({ ok: true, data: { accepted: true } });
  });
});
