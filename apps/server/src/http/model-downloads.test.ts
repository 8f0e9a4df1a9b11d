import { mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyModelDelta, applyNearDelta, encodePayload, modelHash, modelSketch, seededInitialWeights, sketchAgrees, type FlatWeights, type RoundInvite } from '@chorus/core';
import { startServer, type RunningServer } from '../index.js';
import { TestParticipant, fetchWeights } from '../transport/test-participant.js';

const CHUNK = 64 * 1024;
const ADMIN = { authorization: 'Bearer model-downloads-test-admin-token-0123456789' };
let dir: string;
let server: RunningServer;
const clients: TestParticipant[] = [];
/** Filled by the first test: version 0 (fetched before storage drops it: the server keeps 2 versions) and the invites. */
const seen: { v0?: FlatWeights; invites?: RoundInvite[] } = {};

/** A raw GET (no automatic decompression), so the test sees the bytes on the wire. */
function rawGet(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(`${server.url}${path}`, { headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
    }).on('error', reject);
  });
}

/** A GET that must fail with `status` and the typed error `code`. */
async function expectError(path: string, status: number, code: string): Promise<void> {
  const res = await rawGet(path);
  expect(res.status).toBe(status);
  expect(JSON.parse(res.body.toString()).error.code).toBe(code);
}

/** One round: both participants upload a constant delta (float32), and the version moves on. */
async function playRound(a: TestParticipant, b: TestParticipant, index: number, layout: FlatWeights['layout'], n: number): Promise<RoundInvite[]> {
  const ia: RoundInvite = await a.waitFor(() => a.invites[index]);
  const ib: RoundInvite = await b.waitFor(() => b.invites[index]);
  const ramp = (sign: number) => Float32Array.from({ length: n }, (_, i) => sign * 0.001 * ((i % 97) - 48));
  expect(await a.upload(ia, encodePayload({ layout, values: ramp(1) }, 'float32'), CHUNK, 100)).toEqual({ ok: true, data: { accepted: true } });
  expect(await b.upload(ib, encodePayload({ layout, values: ramp(0.5) }, 'float32'), CHUNK, 100)).toEqual({ ok: true, data: { accepted: true } });
  await a.waitFor(() => a.updates[index]);
  return [ia, ib];
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chorus-downloads-'));
  server = await startServer(
    { port: 0, host: '127.0.0.1', db: join(dir, 'd.sqlite'), dbSync: 'NORMAL', demoTask: false, logLevel: 'silent', maxChunkBytes: CHUNK, roundRetryDelayMs: 50, keepVersions: 2, keepEveryVersion: 0, adminToken: ADMIN.authorization.slice(7) },
    { evaluate: null },
  );
  const res = await fetch(`${server.url}/api/tasks`, {
    method: 'POST',
    headers: { ...ADMIN, 'content-type': 'application/json' },
    body: JSON.stringify({ template: 'mnist-2nn', config: { id: 'dl', name: 'Downloads', codec: 'float32', downloadCodec: 'int8', rounds: { targetClients: 2, minClients: 2, overSelection: 1, deadlineMs: 20_000 } }, start: true }),
  });
  expect(res.status).toBe(201);
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('differential model downloads over HTTP', () => {
  it('serves each version as an exact int8 difference, hash-checked by the invite, cacheable and compressed on the wire', async () => {
    // Prepare: two participants play two rounds.
    const v0 = await fetchWeights(server.url, 'dl', 0);
    const n = v0.values.length;
    const [a, b] = [new TestParticipant(server.url), new TestParticipant(server.url)];
    clients.push(a, b);
    expect((await a.join('dl')).ok).toBe(true);
    expect((await b.join('dl')).ok).toBe(true);
    const [first] = await playRound(a, b, 0, v0.layout, n);
    const [second] = await playRound(a, b, 1, v0.layout, n);
    const v1 = await fetchWeights(server.url, 'dl', 1);
    const v2 = await fetchWeights(server.url, 'dl', 2);
    const third: RoundInvite = await a.waitFor(() => a.invites[2]);
    seen.v0 = v0;
    seen.invites = [first!, second!, third];

    // Assert: invites carry the exact hash of their version.
    expect(first!.weightsHash).toBe(modelHash(v0.values));
    expect(second!.weightsHash).toBe(modelHash(v1.values));
    expect(third.weightsHash).toBe(modelHash(v2.values));

    // Each difference, applied to the version before, gives the next version bit for bit, at about a quarter of its size.
    const d1 = await rawGet('/api/tasks/dl/versions/1/delta');
    expect(d1.status).toBe(200);
    expect(d1.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(d1.body.byteLength).toBeLessThan(0.26 * 4 * n);
    const rebuilt1 = applyModelDelta(v0, new Uint8Array(d1.body));
    expect(modelHash(rebuilt1)).toBe(modelHash(v1.values));
    const d2 = await rawGet('/api/tasks/dl/versions/2/delta');
    expect(modelHash(applyModelDelta({ layout: v0.layout, values: rebuilt1 }, new Uint8Array(d2.body)))).toBe(third.weightsHash);

    // And it is close to what the strategy proposed: v0 + the mean of the two ramps.
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(v1.values[i]! - (v0.values[i]! + 0.00075 * ((i % 97) - 48))));
    expect(worst).toBeLessThan(0.036 / 127 + 1e-6);

    // ETag and 304: a client that has the file gets no body.
    const etag = d1.headers.etag as string;
    expect(etag).toMatch(/^".+"$/);
    const again = await rawGet('/api/tasks/dl/versions/1/delta', { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.body.byteLength).toBe(0);
    const full = await rawGet('/api/tasks/dl/versions/1/weights', { 'if-none-match': `"other", ${(await rawGet('/api/tasks/dl/versions/1/weights')).headers.etag}` });
    expect(full.status).toBe(304);
    const bin = await fetch(`${server.url}/api/tasks/dl/versions/1/weights.bin`);
    expect(new Float32Array(await bin.arrayBuffer())).toEqual(v1.values);
    const latest = await rawGet('/api/tasks/dl/versions/latest/weights');
    expect(latest.headers['cache-control']).toBe('no-cache');

    // Compressed on the wire where that helps: the int8 difference of a ramp shrinks a lot under brotli.
    const br = await rawGet('/api/tasks/dl/versions/1/delta', { 'accept-encoding': 'gzip, br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.body.byteLength).toBeLessThan(0.5 * d1.body.byteLength);
    expect(Buffer.compare(brotliDecompressSync(br.body), d1.body)).toBe(0);
    expect(br.headers.vary).toBe('Accept-Encoding');
    const identity = await rawGet('/api/tasks/dl/versions/1/delta', { 'accept-encoding': 'br;q=0, identity' });
    expect(identity.headers['content-encoding']).toBeUndefined();
  }, 60_000);

  it('serves a difference from an older version (?from=) within int8\'s stated error, checked by the invite\'s sketch', async () => {
    const v0 = seen.v0!;
    const [first, second, third] = seen.invites!;
    const v1 = await fetchWeights(server.url, 'dl', 1);
    const v2 = await fetchWeights(server.url, 'dl', 2);

    // Invites name the seed that rebuilds version 0 bit for bit, and sketch their version.
    expect(first!.initialWeights?.seed).toBe(1);
    expect(modelHash(seededInitialWeights(first!.initialWeights!.layout, first!.initialWeights!.seed))).toBe(modelHash(v0.values));
    expect(third!.weightsSketch).toEqual(modelSketch(v2.values));
    expect(second!.weightsSketch).toEqual(modelSketch(v1.values));

    // v2 from v1 in one int8 file: within the stated error of v2 (not bit for bit), and the sketch agrees.
    const near = await rawGet('/api/tasks/dl/versions/2/delta?from=1');
    expect(near.status).toBe(200);
    expect(near.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(near.body.byteLength).toBeLessThan(0.26 * 4 * v0.values.length);
    const applied = applyNearDelta(v1, new Uint8Array(near.body));
    let squares = 0;
    for (let i = 0; i < applied.values.length; i++) squares += (applied.values[i]! - v2.values[i]!) ** 2;
    expect(Math.sqrt(squares)).toBeLessThanOrEqual(applied.errorBound);
    expect(applied.errorBound).toBeGreaterThan(0);
    expect(sketchAgrees(third!.weightsSketch!, applied.values, applied.errorBound)).toBe(true);
    // The same file on a wrong base (version 0 instead of 1) is caught by the sketch.
    const wrong = applyNearDelta(v0, new Uint8Array(near.body));
    expect(sketchAgrees(third!.weightsSketch!, wrong.values, wrong.errorBound)).toBe(false);
    // Computed once and stable: the same bytes and ETag again, and 304 for a holder.
    const again = await rawGet('/api/tasks/dl/versions/2/delta?from=1', { 'if-none-match': near.headers.etag as string });
    expect(again.status).toBe(304);
    expect(near.headers.etag).not.toBe((await rawGet('/api/tasks/dl/versions/2/delta')).headers.etag);
  });

  it('refuses a base version that is not before the version, not a number, or no longer kept', async () => {
    await expectError('/api/tasks/dl/versions/2/delta?from=2', 400, 'BAD_REQUEST');
    await expectError('/api/tasks/dl/versions/2/delta?from=7', 400, 'BAD_REQUEST');
    await expectError('/api/tasks/dl/versions/2/delta?from=-1', 400, 'BAD_REQUEST');
    await expectError('/api/tasks/dl/versions/2/delta?from=one', 400, 'BAD_REQUEST');
    await expectError('/api/tasks/dl/versions/2/delta?from=1&from=0', 400, 'BAD_REQUEST');
    // Storage keeps two versions here: version 0 is gone.
    await expectError('/api/tasks/dl/versions/2/delta?from=0', 404, 'NOT_FOUND');
  });

  it('answers differences it cannot serve with typed errors (clients then download the whole model)', async () => {
    await expectError('/api/tasks/dl/versions/0/delta', 404, 'NOT_FOUND');
    await expectError('/api/tasks/dl/versions/999/delta', 404, 'NOT_FOUND');
    await expectError('/api/tasks/dl/versions/latest/delta', 400, 'BAD_REQUEST');
    await expectError('/api/tasks/dl/versions/1e3/delta', 400, 'BAD_REQUEST');
    await expectError('/api/tasks/nope/versions/1/delta', 404, 'NOT_FOUND');
  });

  it('still serves each difference after a restart: it is stored with its version, so any server process can serve it', async () => {
    // Prepare: the difference as the committing process served it, then a fresh process on the same database.
    const before = await rawGet('/api/tasks/dl/versions/2/delta');
    expect(before.status).toBe(200);
    await server.close();
    server = await startServer(
      { port: 0, host: '127.0.0.1', db: join(dir, 'd.sqlite'), dbSync: 'NORMAL', demoTask: false, logLevel: 'silent', maxChunkBytes: CHUNK, adminToken: ADMIN.authorization.slice(7) },
      { evaluate: null },
    );

    // Execute: the new process never committed version 2.
    const after = await rawGet('/api/tasks/dl/versions/2/delta');

    // Assert: the same bytes, so a client holding version 1 still rebuilds version 2 exactly.
    expect(after.status).toBe(200);
    expect(Buffer.compare(after.body, before.body)).toBe(0);
    expect(after.headers.etag).toBe(before.headers.etag);
  });
});
