import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodePayload, type RoundInvite, type UpdateChunkResponse } from '@chorus/core';
import { startServer, type RunningServer } from '../index.js';
import { TestParticipant, fetchWeights } from './test-participant.js';

/** An upload ended by its last chunk (update:chunk with `last`), against a real server and real Socket.IO clients. */
let dir: string;
let server: RunningServer | undefined;
const clients: TestParticipant[] = [];
const ADMIN_TOKEN = 'last-chunk-test-admin-token-0123456789';

async function start(rounds: Record<string, unknown>): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'chorus-last-chunk-'));
  server = await startServer({ port: 0, host: '127.0.0.1', db: join(dir, 's.sqlite'), dbSync: 'NORMAL', demoTask: false, logLevel: 'silent', adminToken: ADMIN_TOKEN, roundRetryDelayMs: 100 }, { evaluate: null });
  const res = await fetch(`${server.url}/api/tasks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ template: 'mnist-2nn', config: { id: 't', name: 'T', codec: 'int8', rounds: { deadlineMs: 60_000, ...rounds } }, start: true }),
  });
  expect(res.status).toBe(201);
}

/** `n` participants joined, each with its first invite (a round may wait for all of them). */
async function joined(n = 1): Promise<{ p: TestParticipant; invite: RoundInvite }[]> {
  const ps = Array.from({ length: n }, () => new TestParticipant(server!.url));
  clients.push(...ps);
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
