/**
 * A masked input larger than one message, end to end over real sockets: four participant sessions
 * (the client's own secure-round code, computing in-process as in Node) send their masked inputs
 * in parts no larger than the server's chunk limit, and the server assembles them into the sum.
 * Twice: a small model under a 1 KiB limit, and the FedAvg paper's CNN (1.66M parameters) under
 * the default 256 KiB one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePayload, type FlatWeights } from '@chorus/core';
import { createParticipantSession, defaultSocketFactory, type ParticipantSession, type RoundTrainer } from '@chorus/client';
import { startServer, type RunningServer } from '@chorus/server';
import { downloadVersion } from './version-download.js';

const ADMIN_TOKEN = 'secure-chunked-input-test-admin-token-01';
const cleanup: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function serverWith(maxChunkBytes: number | undefined): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-secure-chunks-'));
  const server = await startServer({ port: 0, host: '127.0.0.1', db: join(dir, 'd.sqlite'), dbSync: 'NORMAL', demoTask: false, logLevel: 'silent', adminToken: ADMIN_TOKEN, roundRetryDelayMs: 100, ...(maxChunkBytes ? { maxChunkBytes } : {}) }, { evaluate: null });
  cleanup.push(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return server;
}

interface Sent {
  readonly from: number;
  readonly stage: string;
  readonly chunk?: { index: number; count: number; byteLength: number };
  readonly bytes: number;
}

/** Four sessions through one secure round of `template`; what they sent, their receipts, and the two versions. */
async function secureRound(server: RunningServer, template: string, data: unknown) {
  const taskId = `secure-${template}`;
  const res = await fetch(`${server.url}/api/tasks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      template,
      config: {
        id: taskId,
        name: 'Secure chunks',
        data,
        secureAggregation: { neighbours: 3, threshold: 2, quantizationBits: 12, stageDeadlineMs: 30_000 },
        limits: { maxUpdateNorm: 2 },
        rounds: { targetClients: 4, minClients: 3, minAvailable: 4, overSelection: 1, deadlineMs: 60_000, maxRounds: 1 },
      },
      start: true,
    }),
  });
  expect(res.status).toBe(201);
  const weights = async (version: number): Promise<FlatWeights> => decodePayload(await downloadVersion(server.url, taskId, version));
  const v0 = await weights(0);
  const n = v0.values.length;
  const deltas = [0, 1, 2, 3].map((i) => Float32Array.from({ length: n }, (_, k) => Math.cos(k * 0.07 + i) * (0.5 / Math.sqrt(n))));
  // Every secagg:message a participant sends, as the wire carries it.
  const sent: Sent[] = [];
  const receipts: string[] = [];
  const errors: string[] = [];
  for (let i = 0; i < 4; i++) {
    const trainer: RoundTrainer = { train: async () => ({ delta: deltas[i]!.slice(), numExamples: 50, metrics: {} }) };
    const session: ParticipantSession = createParticipantSession({
      serverUrl: server.url,
      taskId,
      trainer,
      capabilities: { backend: 'cpu', numExamples: 50 },
      socketFactory: (url) => {
        const socket = defaultSocketFactory(url);
        const emit = socket.emit.bind(socket);
        socket.emit = (event: string, ...args: any[]) => {
          if (event === 'secagg:message') sent.push({ from: i, stage: args[0].stage, chunk: args[0].chunk, bytes: args[0].message?.masked?.byteLength ?? 0 });
          return emit(event, ...args);
        };
        return socket;
      },
    });
    session.on('receipt', (e) => receipts.push(e.receipt.note ?? ''));
    session.on('error', (e) => errors.push(e.message));
    cleanup.push(() => session.close());
    await session.start();
  }
  for (const until = Date.now() + 90_000; !(await fetch(`${server.url}/api/tasks/${taskId}/versions/1/weights`, { method: 'HEAD' })).ok; await new Promise((r) => setTimeout(r, 200))) {
    if (Date.now() > until) throw new Error(`version 1 never committed; errors: ${errors.join('; ')}`);
  }
  const v1 = await weights(1);
  // The committed step against the mean of the four updates (relative error; quantization only).
  let err = 0;
  let norm = 0;
  for (let k = 0; k < n; k++) {
    const mean = (deltas[0]![k]! + deltas[1]![k]! + deltas[2]![k]! + deltas[3]![k]!) / 4;
    err += (v1.values[k]! - v0.values[k]! - mean) ** 2;
    norm += mean ** 2;
  }
  return { sent, receipts, errors, relativeError: Math.sqrt(err / norm) };
}

/** Each participant's masked input went as ordered parts of at most `limit` bytes, adding up to its size. */
function expectChunked(sent: readonly Sent[], limit: number): number {
  const parts = sent.filter((m) => m.stage === 'mask');
  const count = parts[0]!.chunk!.count;
  expect(count).toBeGreaterThan(1);
  expect(parts).toHaveLength(4 * count);
  expect(parts.every((p) => p.chunk && p.bytes > 0 && p.bytes <= limit)).toBe(true);
  for (let i = 0; i < 4; i++) {
    const mine = parts.filter((p) => p.from === i);
    expect(mine.map((p) => p.chunk!.index)).toEqual([...Array(count).keys()]);
    expect(mine.reduce((s, p) => s + p.bytes, 0)).toBe(parts[0]!.chunk!.byteLength);
  }
  return count;
}

describe('chunked masked inputs', () => {

  it('a masked input several times a 1 KiB chunk limit arrives in parts and the round commits the mean', { timeout: 120_000 }, async () => {
    const data = { kind: 'tabular', inputShape: [4], numClasses: 3, features: { names: ['a', 'b', 'c', 'd'], mean: [0, 0, 0, 0], std: [1, 1, 1, 1], labelColumn: 'y' } };
    const r = await secureRound(await serverWith(1024), 'tabular-mlp', data);
    expect(r.errors).toEqual([]);
    expectChunked(r.sent, 1024);
    expect(r.relativeError).toBeLessThan(0.05);
    expect(r.receipts).toHaveLength(4);
    expect(r.receipts.every((x) => /^Securely aggregated: the server sees only the sum of the 4 participants' updates/.test(x))).toBe(true);
  });


  it('the CNN (1.66M parameters) at the default 256 KiB limit: each masked input goes in several parts', { timeout: 180_000 }, async () => {
    const r = await secureRound(await serverWith(undefined), 'mnist-cnn', { kind: 'image', inputShape: [28, 28, 1], numClasses: 10 });
    expect(r.errors).toEqual([]);
    const parts = expectChunked(r.sent, 256 * 1024);
    expect(parts).toBeGreaterThanOrEqual(5);
    expect(r.relativeError).toBeLessThan(0.05);
  });
});
