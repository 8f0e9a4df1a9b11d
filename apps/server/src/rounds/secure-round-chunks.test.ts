/**
 * Chunked masked inputs at the socket: what the server refuses before a part reaches the round's
 * assembler (a part on the wrong stage, one too large, one claiming another's id), each a typed
 * error for that participant only. The whole path (parts assembled into the sum) is tested with
 * real participant sessions in apps/simulator/src/secure-chunked-input.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ack } from '@chorus/core';
import { startServer, type RunningServer } from '../index.js';
import { TestParticipant } from '../transport/test-participant.js';

const ADMIN_TOKEN = 'secure-round-chunks-test-admin-token-012';
const MAX_CHUNK = 1024;
let dir: string;
let server: RunningServer;
const clients: TestParticipant[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chorus-secure-chunks-'));
  server = await startServer({ port: 0, host: '127.0.0.1', db: join(dir, 'd.sqlite'), dbSync: 'NORMAL', demoTask: false, logLevel: 'silent', adminToken: ADMIN_TOKEN, roundRetryDelayMs: 100, maxChunkBytes: MAX_CHUNK }, { evaluate: null });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('chunked masked inputs at the socket', () => {
  it('refuses a part outside the mask stage, a part above the chunk limit and a part under another id', async () => {
    // Prepare: a secure task and three participants (the round opens at the advertise stage)
    const res = await fetch(`${server.url}/api/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        template: 'tabular-mlp',
        config: {
          id: 'chunks',
          name: 'Chunks',
          data: { kind: 'tabular', inputShape: [4], numClasses: 3, features: { names: ['a', 'b', 'c', 'd'], mean: [0, 0, 0, 0], std: [1, 1, 1, 1], labelColumn: 'y' } },
          secureAggregation: { neighbours: 2, threshold: 2, stageDeadlineMs: 20_000 },
          rounds: { targetClients: 3, minClients: 3, minAvailable: 3, overSelection: 1, deadlineMs: 20_000 },
        },
        start: true,
      }),
    });
    expect(res.status).toBe(201);
    for (let i = 0; i < 3; i++) {
      const c = new TestParticipant(server.url);
      clients.push(c);
      expect((await c.join('chunks')).ok).toBe(true);
    }
    const c = clients[0]!;
    const invite = await c.waitFor(() => c.invites[0]);
    const id = (invite.secureAggregation as { id: number }).id;
    const part = (bytes: number, stage = 'mask', claimed = id) =>
      c.request('secagg:message', { taskId: 'chunks', roundId: invite.roundId, stage, message: { id: claimed, masked: new Uint8Array(bytes) }, chunk: { index: 0, count: 2, byteLength: 2 * bytes } }) as Promise<Ack<unknown>>;
    const refusal = (ack: Ack<unknown>) => (ack.ok ? 'accepted' : `${ack.error.code}: ${ack.error.message}`);

    // Execute + Assert
    expect(refusal(await part(10, 'advertise'))).toMatch(/^BAD_REQUEST: .*only the masked input \("mask" stage\) is sent in chunks/);
    expect(refusal(await part(MAX_CHUNK + 1))).toMatch(/^PAYLOAD_TOO_LARGE: .*at most 1024 per part/);
    expect(refusal(await part(10, 'mask', id === 1 ? 2 : 1))).toMatch(/^BAD_REQUEST: .*must carry its sender's own protocol id/);
    expect(refusal(await part(10))).toMatch(/^ROUND_CLOSED: .*a masked-input part arrived while the round is at "advertise"/);
    // Refusals are answers, not disconnections: the participant stays in the round
    expect(c.socket.connected).toBe(true);
  });
});
