/**
 * Secure aggregation over real sockets: a real server, four scripted participants (socket.io-client)
 * running the SecAgg+ participant from core; one closes its socket right after its masked input.
 * The committed version moves by the mean of the four updates; the server never saw one of them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../index.js';
import { TestParticipant, fetchWeights } from '../transport/test-participant.js';

const ADMIN_TOKEN = 'secure-round-socket-test-admin-token-0123';
let dir: string;
let server: RunningServer;
const clients: TestParticipant[] = [];

async function createTask(body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}/api/tasks`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chorus-secure-round-'));
  server = await startServer({ port: 0, host: '127.0.0.1', db: join(dir, 'd.sqlite'), dbSync: 'NORMAL', demoTask: false, logLevel: 'silent', adminToken: ADMIN_TOKEN, roundRetryDelayMs: 100 }, { evaluate: null });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const data = { kind: 'tabular', inputShape: [4], numClasses: 3 };
const secureAggregation = { neighbours: 3, threshold: 2, quantizationBits: 12, stageDeadlineMs: 5_000 };

describe('secure aggregation over Socket.IO', () => {
  it('refuses a robust aggregator with a plain error', async () => {
    const res = await createTask({ template: 'tabular-mlp', config: { id: 'secure-krum', name: 'Secure', data, secureAggregation, rounds: { minClients: 3 }, strategy: { id: 'fedavg', options: { aggregator: 'krum' } } } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.json)).toMatch(/needs every individual update/);
  });

  it('commits the mean of four masked updates when one participant closes its socket after masking', { timeout: 60_000 }, async () => {
    const created = await createTask({
      // A small model: one masked input must fit in one Socket.IO message (see ARCHITECTURE.md).
      template: 'tabular-mlp',
      config: { id: 'secure', name: 'Secure', data: { ...data, features: { names: ['a', 'b', 'c', 'd'], mean: [0, 0, 0, 0], std: [1, 1, 1, 1], labelColumn: 'y' } }, secureAggregation, limits: { maxUpdateNorm: 2 }, rounds: { targetClients: 4, minClients: 3, minAvailable: 4, overSelection: 1, deadlineMs: 20_000, maxRounds: 1 } },
      start: true,
    });
    expect(created.json).not.toHaveProperty('error');
    expect(created.status).toBe(201);
    const v0 = await fetchWeights(server.url, 'secure', 0);
    const n = v0.values.length;
    const delta = (i: number) => Float32Array.from({ length: n }, (_, k) => Math.sin(k * 0.1 + i * 0.3) * 0.02);
    const errors: string[] = [];
    for (let i = 0; i < 4; i++) {
      const c = new TestParticipant(server.url);
      clients.push(c);
      c.answerSecureRounds('secure', { update: delta(i), examples: 100, errors, label: String(i), closeAfterMask: i === 3 });
      expect((await c.join('secure')).ok).toBe(true);
    }
    await clients[0]!.waitFor(() => clients[0]!.updates.find((u) => u.version === 1), 40_000);
    expect(errors).toEqual([]);
    const v1 = await fetchWeights(server.url, 'secure', 1);
    let err = 0;
    let norm = 0;
    for (let k = 0; k < n; k++) {
      const mean = (delta(0)[k]! + delta(1)[k]! + delta(2)[k]! + delta(3)[k]!) / 4;
      err += (v1.values[k]! - v0.values[k]! - mean) ** 2;
      norm += mean ** 2;
    }
    expect(Math.sqrt(err / norm)).toBeLessThan(0.05);
    const receipts = await server.storage.listReceipts('secure', 1);
    expect(receipts).toHaveLength(4);
    expect(receipts.every((r) => r.accepted && r.l2Norm === null && /securely aggregated/.test(r.reason ?? ''))).toBe(true);
  });
});
