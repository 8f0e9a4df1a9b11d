/**
 * A masked input larger than one message, end to end over real sockets: four participant sessions
 * (the client's own secure-round code, computing in-process as in Node) send their masked inputs
 * in parts no larger than the server's chunk limit, and the server assembles them into the sum.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePayload, type FlatWeights } from '@chorus/core';
import { createParticipantSession, defaultSocketFactory, downloadBytes, weightsUrl, type ParticipantSession, type RoundTrainer } from '@chorus/client';
import { startServer, type RunningServer } from '@chorus/server';

const ADMIN_TOKEN = 'secure-chunked-input-test-admin-token-01';
const MAX_CHUNK = 1024;
let dir: string;
let server: RunningServer;
const sessions: ParticipantSession[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chorus-secure-chunks-'));
  server = await startServer({ port: 0, host: '127.0.0.1', db: join(dir, 'd.sqlite'), dbSync: 'NORMAL', demoTask: false, logLevel: 'silent', adminToken: ADMIN_TOKEN, roundRetryDelayMs: 100, maxChunkBytes: MAX_CHUNK }, { evaluate: null });
}, 60_000);

afterAll(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const weights = async (version: number): Promise<FlatWeights> => decodePayload(await downloadBytes(weightsUrl(server.url, 'secure-chunks', version), { fetch: (u, init) => fetch(u, init) }));

describe('chunked masked inputs', () => {
  it('a masked input several times the chunk limit arrives in parts and the round commits the mean', { timeout: 90_000 }, async () => {
    const res = await fetch(`${server.url}/api/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        template: 'tabular-mlp',
        config: {
          id: 'secure-chunks',
          name: 'Secure chunks',
          data: { kind: 'tabular', inputShape: [4], numClasses: 3, features: { names: ['a', 'b', 'c', 'd'], mean: [0, 0, 0, 0], std: [1, 1, 1, 1], labelColumn: 'y' } },
          secureAggregation: { neighbours: 3, threshold: 2, quantizationBits: 12, stageDeadlineMs: 10_000 },
          limits: { maxUpdateNorm: 2 },
          rounds: { targetClients: 4, minClients: 3, minAvailable: 4, overSelection: 1, deadlineMs: 30_000, maxRounds: 1 },
        },
        start: true,
      }),
    });
    expect(res.status).toBe(201);
    const v0 = await weights(0);
    const n = v0.values.length;
    const delta = (i: number) => Float32Array.from({ length: n }, (_, k) => Math.cos(k * 0.07 + i) * 0.02);
    // Every secagg:message a participant sends, as the wire carries it.
    const sent: { from: number; stage: string; chunk?: { index: number; count: number; byteLength: number }; bytes: number }[] = [];
    const receipts: string[] = [];
    const errors: string[] = [];
    for (let i = 0; i < 4; i++) {
      const trainer: RoundTrainer = { train: async () => ({ delta: delta(i), numExamples: 50, metrics: {} }) };
      const session = createParticipantSession({
        serverUrl: server.url,
        taskId: 'secure-chunks',
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
      sessions.push(session);
      await session.start();
    }
    const v1 = await (async () => {
      for (const until = Date.now() + 60_000; Date.now() < until; await new Promise((r) => setTimeout(r, 200))) {
        const r = await fetch(`${server.url}/api/tasks/secure-chunks/versions/1/weights`);
        if (r.ok) return decodePayload(new Uint8Array(await r.arrayBuffer()));
      }
      throw new Error(`version 1 never committed; errors: ${errors.join('; ')}`);
    })();
    expect(errors).toEqual([]);
    // Each masked input went as several ordered parts, none above the server's limit, adding up exactly.
    const parts = sent.filter((m) => m.stage === 'mask');
    const count = parts[0]!.chunk!.count;
    expect(count).toBeGreaterThan(1);
    expect(parts).toHaveLength(4 * count);
    expect(parts.every((p) => p.chunk && p.bytes > 0 && p.bytes <= MAX_CHUNK)).toBe(true);
    for (let i = 0; i < 4; i++) {
      const mine = parts.filter((p) => p.from === i);
      expect(mine.map((p) => p.chunk!.index)).toEqual([...Array(count).keys()]);
      expect(mine.reduce((s, p) => s + p.bytes, 0)).toBe(parts[0]!.chunk!.byteLength);
    }
    // The committed step is the mean of the four updates (up to quantization).
    let err = 0;
    let norm = 0;
    for (let k = 0; k < n; k++) {
      const mean = (delta(0)[k]! + delta(1)[k]! + delta(2)[k]! + delta(3)[k]!) / 4;
      err += (v1.values[k]! - v0.values[k]! - mean) ** 2;
      norm += mean ** 2;
    }
    expect(Math.sqrt(err / norm)).toBeLessThan(0.05);
    expect(receipts).toHaveLength(4);
    expect(receipts.every((r) => /^Securely aggregated: the server sees only the sum of the 4 participants' updates/.test(r))).toBe(true);
  });
});
