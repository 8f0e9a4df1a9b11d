import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePayload, type RoundInvite } from '@chorus/core';
import { startServer, type RunningServer } from '../index.js';
import { TestParticipant, fetchWeights } from '../transport/test-participant.js';

const CHUNK = 256 * 1024;
const ADMIN = { authorization: 'Bearer partner-usage-test-admin-token-0123456789' };
let dir: string;
let server: RunningServer;
const clients: TestParticipant[] = [];

const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
  const res = await fetch(`${server.url}${path}`, { method, headers: body === undefined ? ADMIN : { ...ADMIN, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: res.status === 204 ? null : await res.json() };
};
const usageOf = async (id: string) => (await api('GET', '/api/partner-keys')).json.keys.find((k: { id: string }) => k.id === id)?.usage;

function participant(partnerKey?: string, visitor = ''): TestParticipant {
  const p = new TestParticipant(server.url, partnerKey ? { auth: { partnerKey, partnerOrigin: 'https://news.example', taskId: 'pu', visitor } } : {});
  clients.push(p);
  return p;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chorus-partner-usage-'));
  server = await startServer(
    { port: 0, host: '127.0.0.1', db: join(dir, 'pu.sqlite'), dbSync: 'NORMAL', demoTask: false, logLevel: 'silent', maxChunkBytes: CHUNK, roundRetryDelayMs: 100, adminToken: ADMIN.authorization.slice(7) },
    { evaluate: null },
  );
  const task = await api('POST', '/api/tasks', { template: 'mnist-2nn', config: { id: 'pu', name: 'Partner usage', codec: 'float32', rounds: { targetClients: 3, minClients: 3, overSelection: 1, deadlineMs: 20_000 } }, start: true });
  expect(task.status).toBe(201);
});

afterAll(async () => {
  for (const c of clients) c.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('partner key usage, over real sockets', () => {
  it('counts the participants who came through a key and their accepted updates, not the others', async () => {
    // Prepare: a key for news.example; two visitors come through it, one participant comes directly.
    const created = await api('POST', '/api/partner-keys', { id: 'pk_news', name: 'News', allowedOrigins: ['https://news.example'], allowedTasks: ['pu'], quotaPerDay: 10 });
    const before = await usageOf('pk_news');
    const [a, b, direct] = [participant('pk_news', 'visitor-a'), participant('pk_news', 'visitor-b'), participant()];
    for (const p of [a, b, direct]) expect((await p.join('pu')).ok).toBe(true);
    const afterJoin = await usageOf('pk_news');

    // Execute: all three contribute to round 1; one keyed participant retries its upload.
    const v0 = await fetchWeights(server.url, 'pu', 0);
    const delta = encodePayload({ layout: v0.layout, values: new Float32Array(v0.values.length).fill(0.01) }, 'float32');
    const invites: RoundInvite[] = await Promise.all([a, b, direct].map((p) => p.waitFor(() => p.invites[0])));
    expect(await a.upload(invites[0]!, delta, CHUNK)).toEqual({ ok: true, data: { accepted: true } });
    expect(await a.upload(invites[0]!, delta, CHUNK)).toMatchObject({ ok: false, error: { code: 'DUPLICATE_UPDATE' } });
    expect(await b.upload(invites[1]!, delta, CHUNK)).toEqual({ ok: true, data: { accepted: true } });
    expect(await direct.upload(invites[2]!, delta, CHUNK)).toEqual({ ok: true, data: { accepted: true } });
    await a.waitFor(() => a.updates[0]);
    const afterRound = await usageOf('pk_news');

    // Assert
    expect(created.status).toBe(201);
    expect(created.json.key.usage).toEqual({ participantsToday: 0, participantsAllTime: 0, updatesToday: 0, updatesAllTime: 0 });
    expect(before).toEqual({ participantsToday: 0, participantsAllTime: 0, updatesToday: 0, updatesAllTime: 0 });
    expect(afterJoin).toEqual({ participantsToday: 2, participantsAllTime: 2, updatesToday: 0, updatesAllTime: 0 });
    expect(afterRound).toEqual({ participantsToday: 2, participantsAllTime: 2, updatesToday: 2, updatesAllTime: 2 });
  });

  it('creates keys with a generated id, tells the web app which origins may frame the embed, and deletes keys', async () => {
    const generated = await api('POST', '/api/partner-keys', { name: 'Shop', allowedOrigins: ['https://shop.example', 'http://localhost:*'], allowedTasks: ['*'] });
    const id: string = generated.json.key.id;
    const again = await api('POST', '/api/partner-keys', { id, name: 'Shop', allowedOrigins: ['https://shop.example'], allowedTasks: ['*'] });
    const ancestors = async (key: string) => (await fetch(`${server.url}/api/embed/frame-ancestors?key=${key}`)).json();
    const framers = await ancestors(id);
    await api('PUT', `/api/partner-keys/${id}`, { name: 'Shop', allowedOrigins: ['https://shop.example'], allowedTasks: ['*'], active: false });
    const framersWhenOff = await ancestors(id);
    const removed = await api('DELETE', `/api/partner-keys/${id}`);
    const removedAgain = await api('DELETE', `/api/partner-keys/${id}`);
    const audit = await api('GET', '/api/admin/audit');

    expect(generated.status).toBe(201);
    expect(id).toMatch(/^pk_[A-Za-z0-9_-]{27}$/);
    expect(again.status).toBe(400);
    expect(again.json.error.message).toBe(`id: a partner key "${id}" already exists; edit it instead`);
    expect(framers).toEqual({ origins: ['https://shop.example', 'http://localhost:*'] });
    expect(framersWhenOff).toEqual({ origins: [] });
    expect(await ancestors('pk_nope')).toEqual({ origins: [] });
    expect(removed.status).toBe(204);
    expect(removedAgain.json).toEqual({ error: { code: 'NOT_FOUND', message: `There is no partner key "${id}".` } });
    expect((await api('GET', '/api/partner-keys')).json.keys.map((k: { id: string }) => k.id)).toEqual(['pk_news']);
    expect(JSON.stringify(audit.json)).toContain(`DELETE /api/partner-keys/:id`);
  });
});
