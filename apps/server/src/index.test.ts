import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePayload, type RoundInvite } from '@chorus/core';
import { startServer, type RunningServer } from './index.js';
import { TestParticipant, fetchWeights } from './transport/test-participant.js';

const CHUNK = 64 * 1024;
const ADMIN_TOKEN = 'integration-test-admin-token-0123456789';
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };
let dir: string;
let server: RunningServer;
const clients: TestParticipant[] = [];

function participant(): TestParticipant {
  const p = new TestParticipant(server.url);
  clients.push(p);
  return p;
}

async function post(path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: body === undefined ? ADMIN : { ...ADMIN, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chorus-server-it-'));
  server = await startServer(
    { port: 0, host: '127.0.0.1', db: join(dir, 'it.sqlite'), dbSync: 'NORMAL', demoTask: false, logLevel: 'silent', maxChunkBytes: CHUNK, roundRetryDelayMs: 100, corsOrigins: ['https://partner.example'], adminToken: ADMIN_TOKEN },
    { evaluate: null },
  );
  const created = await post('/api/tasks', {
    template: 'mnist-2nn',
    // Whole-model downloads: the check below wants the exact weighted mean, and an int8 model step
    // (the default) may land one stochastic-rounding step away from it (e2e/compression tests those).
    config: { id: 'it', name: 'Integration', codec: 'float32', downloadCodec: 'full', rounds: { targetClients: 2, minClients: 2, overSelection: 1, deadlineMs: 20_000 } },
    start: true,
  });
  expect(created.status).toBe(201);
});

afterAll(async () => {
  for (const c of clients) c.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('aggregation server over real Socket.IO and HTTP', () => {
  it('turns two uploaded deltas into version 1 and tells every connected client, after refusing malformed messages', async () => {
    const v0 = await fetchWeights(server.url, 'it', 0);
    const [a, b, watcher] = [participant(), participant(), participant()];
    expect((await a.join('it')).ok).toBe(true);
    expect((await b.join('it')).ok).toBe(true);
    const inviteA: RoundInvite = await a.waitFor(() => a.invites[0]);
    const inviteB: RoundInvite = await b.waitFor(() => b.invites[0]);
    expect((await watcher.join('it')).ok).toBe(true);

    // Malformed and refused messages, while the round is open.
    expect(await watcher.request('join', { protocolVersion: 99, taskId: 'it', capabilities: { backend: 'wasm', numExamples: 1 } })).toMatchObject({ ok: false, error: { code: 'UNSUPPORTED_PROTOCOL', retryable: false } });
    expect(await watcher.request('join', { protocolVersion: 1, taskId: 'nope', capabilities: { backend: 'wasm', numExamples: 1 } })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await watcher.request('update:begin', { taskId: 'it', version: 'zero' })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    // A bad field comes back named, so a client can say which one (core's wire error `path`).
    expect(await watcher.request('update:begin', { taskId: 'it', roundId: inviteA.roundId, version: 0, numExamples: 1, byteLength: -5 })).toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST', retryable: false, path: 'update:begin.byteLength', message: expect.stringMatching(/^update:begin\.byteLength: /) },
    });
    expect(await watcher.request('update:chunk', { uploadId: 'x', seq: 0, data: new Uint8Array(4) })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await watcher.request('update:end')).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    watcher.socket.emit('update:begin', { garbage: true }); // no ack callback: must not crash anything
    expect(await a.request('update:begin', { taskId: 'it', roundId: inviteA.roundId, version: 0, numExamples: 1, byteLength: 50_000_000 })).toMatchObject({ ok: false, error: { code: 'PAYLOAD_TOO_LARGE' } });
    const outsider = await watcher.upload(inviteA, encodePayload({ layout: v0.layout, values: new Float32Array(v0.values.length) }, 'float32'), CHUNK);
    expect(outsider).toMatchObject({ ok: false, error: { code: 'NOT_SELECTED' } });

    const n = v0.values.length;
    const deltaA = encodePayload({ layout: v0.layout, values: new Float32Array(n).fill(0.25) }, 'float32');
    const deltaB = encodePayload({ layout: v0.layout, values: new Float32Array(n).fill(-0.75) }, 'float32');
    expect(deltaA.byteLength).toBeGreaterThan(10 * CHUNK); // really chunked
    expect(await a.upload(inviteA, deltaA, CHUNK, 100)).toEqual({ ok: true, data: { accepted: true } });
    expect(await a.upload(inviteA, deltaA, CHUNK, 100)).toMatchObject({ ok: false, error: { code: 'DUPLICATE_UPDATE' } });
    expect(await b.upload(inviteB, deltaB, CHUNK, 300)).toEqual({ ok: true, data: { accepted: true } });

    for (const c of [a, b, watcher]) expect((await c.waitFor(() => c.updates[0])).version).toBe(1);
    const v1 = await fetchWeights(server.url, 'it', 'latest');
    // (100 × 0.25 + 300 × −0.75) / 400 = −0.5
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(v1.values[i]! - (v0.values[i]! - 0.5)));
    expect(worst).toBeLessThan(1e-6);
    // Prometheus sees the same round (loopback callers may scrape without a token).
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain('chorus_rounds_completed_total{task="it"} 1');
    expect(metrics).toContain('chorus_updates_total{task="it",outcome="accepted",reason=""} 2');
    expect(metrics).toContain(`chorus_bytes_received_total{task="it"} ${deltaA.byteLength + deltaB.byteLength}`);
    expect(metrics).toContain('chorus_participants_connected{task="it",backend="wasm"} 3');
    expect(metrics).toContain('chorus_sockets_connected{namespace="/"} 3');
    expect(metrics).toContain('chorus_aggregation_seconds_count{strategy="fedavg"} 1');
    const detail = await (await fetch(`${server.url}/api/tasks/it`, { headers: ADMIN })).json();
    expect(detail.task.latestVersion).toBe(1);
    expect(detail.rounds.find((r: { round: number }) => r.round === 1)).toMatchObject({ state: 'committed', participants: 2, selected: 2 });
    expect(detail.rounds.find((r: { round: number }) => r.round === 1).bytesUp).toBe(2 * deltaA.byteLength);
    // Why the round's participants were picked: the task's policy, per pseudonymous id.
    const picks = await (await fetch(`${server.url}/api/tasks/it/rounds/1/selection`, { headers: ADMIN })).json();
    expect(picks.selection.policy).toBe('uniform');
    expect(picks.selection.reasons.map((r: { kind: string }) => r.kind)).toEqual(['uniform', 'uniform']);
    expect((await fetch(`${server.url}/api/tasks/it/rounds/1/selection`)).status).toBe(401);
  });

  it("tells the console why an Oort task picked each participant: utility, speed and reliability once it knows them", async () => {
    const created = await post('/api/tasks', {
      template: 'mnist-2nn',
      config: { id: 'oort-it', name: 'Oort', codec: 'float32', downloadCodec: 'full', selection: { id: 'oort', options: {} }, rounds: { targetClients: 2, minClients: 2, overSelection: 1, deadlineMs: 20_000 } },
      start: true,
    });
    expect(created.status).toBe(201);
    const [slow, fast] = [participant(), participant()];
    expect((await slow.join('oort-it', { capabilities: { backend: 'wasm', numExamples: 1000, samplesPerSecond: 80 } })).ok).toBe(true);
    expect((await fast.join('oort-it', { capabilities: { backend: 'wasm', numExamples: 1000, samplesPerSecond: 120 } })).ok).toBe(true);
    const v0 = await fetchWeights(server.url, 'oort-it', 0);
    const zero = encodePayload({ layout: v0.layout, values: new Float32Array(v0.values.length) }, 'float32');
    for (const p of [slow, fast]) expect(await p.upload(await p.waitFor(() => p.invites[0]), zero, CHUNK, 100)).toMatchObject({ ok: true });
    // Round 2 invites both again, now known: ranked, with what the ranking saw.
    for (const p of [slow, fast]) await p.waitFor(() => p.invites[1]);

    const picks = async (round: number) => (await (await fetch(`${server.url}/api/tasks/oort-it/rounds/${round}/selection`, { headers: ADMIN })).json()).selection;
    const first = await picks(1);
    // The picks are written behind the invitations (the round's storage queue): ask until they are there.
    let second = await picks(2);
    for (let tries = 0; second === null && tries < 100; tries++) second = await new Promise((r) => setTimeout(r, 20)).then(() => picks(2));

    expect(first.policy).toBe('oort');
    expect(first.reasons.map((r: { kind: string; speed: number }) => [r.kind, r.speed]).sort()).toEqual([['explore', 120], ['explore', 80]]);
    const byId = new Map(second.reasons.map((r: { participantId: string }) => [r.participantId, r]));
    // One update each, none dropped: (1 + 1) / (1 + 0 + 2).
    expect(byId.get(slow.participantId)).toMatchObject({ kind: 'exploit', speed: 80, reliability: 2 / 3, utility: expect.any(Number), expectedMs: expect.any(Number) });
    expect(byId.get(fast.participantId)).toMatchObject({ kind: 'exploit', speed: 120, reliability: 2 / 3, utility: expect.any(Number) });
    for (const r of second.reasons) expect(r.utility).toBeGreaterThan(0);
  });

  it('serves versions in TensorFlow.js format and answers HTTP errors as typed JSON', async () => {
    const modelRes = await fetch(`${server.url}/api/tasks/it/versions/latest/model.json`);
    const model = await modelRes.json();
    const bin = await fetch(`${server.url}/api/tasks/it/versions/${modelRes.headers.get('x-chorus-version')}/weights.bin`);
    const v = await fetchWeights(server.url, 'it', Number(modelRes.headers.get('x-chorus-version')));
    expect(model.format).toBe('layers-model');
    expect(model.weightsManifest[0].weights.map((w: { name: string }) => w.name)).toEqual(v.layout.map((t) => t.name));
    expect(new Float32Array(await bin.arrayBuffer())).toEqual(v.values);
    const tf = await import('@tensorflow/tfjs');
    const loaded = await tf.loadLayersModel(`${server.url}/api/tasks/it/versions/latest/model.json`);
    const firstKernel = loaded.getWeights()[0]!;
    expect(firstKernel.shape).toEqual([...v.layout[0]!.shape]);
    expect(firstKernel.dataSync().slice(0, 5)).toEqual(v.values.slice(0, 5));
    loaded.dispose();

    const missing = await fetch(`${server.url}/api/tasks/nope`, { headers: ADMIN });
    expect([missing.status, await missing.json()]).toEqual([404, { error: { code: 'NOT_FOUND', message: 'task "nope" does not exist' } }]);
    const bad = await post('/api/tasks', { template: 'mnist-2nn', config: { id: 'x2', name: 'X', rounds: { targetClients: 0 } } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('INVALID_CONFIG');
    expect(bad.json.error.message).toMatch(/^config\.rounds\.targetClients: /);
    expect((await post('/api/tasks/it/resume')).status).toBe(409);

    const allowed = await fetch(`${server.url}/api/tasks`, { headers: { ...ADMIN, origin: 'https://partner.example' } });
    const other = await fetch(`${server.url}/api/tasks`, { headers: { ...ADMIN, origin: 'https://evil.example' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://partner.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    // The console edits and deletes partner keys with PUT and DELETE: its preflight must allow them.
    const preflight = await fetch(`${server.url}/api/partner-keys/pk_x`, { method: 'OPTIONS', headers: { origin: 'https://partner.example', 'access-control-request-method': 'DELETE' } });
    expect([preflight.status, preflight.headers.get('access-control-allow-methods')]).toEqual([204, 'GET, POST, PUT, PATCH, DELETE, OPTIONS']);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });
});
