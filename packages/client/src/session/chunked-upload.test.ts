import { describe, expect, it } from 'vitest';
import type { Ack } from '@chorus/core';
import { uploadInChunks } from './chunked-upload.js';
import { FakeSocket } from './fake-socket.test-helper.js';

const begin = { taskId: 't', roundId: 't-r1', version: 0, numExamples: 10, byteLength: 50, metrics: {} };
const bytes = Uint8Array.from({ length: 50 }, (_, i) => i);

/** A server with 20-byte chunks; `receiptOnLast` false plays one from before `last` (it answers the last chunk with the count only). */
function server(receiptOnLast: boolean) {
  const socket = new FakeSocket((event, payload): Ack<unknown> | undefined => {
    if (event === 'update:begin') return { ok: true, data: { uploadId: 'u-1', maxChunkBytes: 20 } };
    if (event === 'update:chunk') {
      const received = payload.seq * 20 + payload.data.byteLength;
      return { ok: true, data: payload.last && receiptOnLast ? { received, receipt: { accepted: true, note: 'by the last chunk' } } : { received } };
    }
    if (event === 'update:end') return { ok: true, data: { accepted: true, note: 'by update:end' } };
    return undefined;
  });
  socket.connected = true;
  return socket;
}

describe('uploadInChunks', () => {
  it('marks the last chunk `last` and takes the receipt from its acknowledgement: no update:end', async () => {
    const socket = server(true);
    const progress: number[] = [];
    const receipt = await uploadInChunks(socket, begin, bytes, { maxChunkBytes: 1 << 20, ackTimeoutMs: 1_000, onProgress: (f) => progress.push(f) });
    expect(receipt).toEqual({ accepted: true, note: 'by the last chunk' });
    expect(socket.sent.map((s) => [s.event, s.payload.seq, s.payload.last])).toEqual([
      ['update:begin', undefined, undefined],
      ['update:chunk', 0, undefined],
      ['update:chunk', 1, undefined],
      ['update:chunk', 2, true],
    ]);
    expect(socket.sent.slice(1).map((s) => s.payload.data.byteLength)).toEqual([20, 20, 10]);
    expect(progress).toEqual([0.4, 0.8, 1]);
  });

  it('ends with update:end when the server acknowledges the last chunk without a receipt', async () => {
    const socket = server(false);
    const receipt = await uploadInChunks(socket, begin, bytes, { maxChunkBytes: 1 << 20, ackTimeoutMs: 1_000 });
    expect(receipt).toEqual({ accepted: true, note: 'by update:end' });
    expect(socket.sent.map((s) => s.event)).toEqual(['update:begin', 'update:chunk', 'update:chunk', 'update:chunk', 'update:end']);
  });

  it('sends a one-chunk update as one chunk marked `last`', async () => {
    const socket = server(true);
    await uploadInChunks(socket, { ...begin, byteLength: 5 }, bytes.subarray(0, 5), { maxChunkBytes: 1 << 20, ackTimeoutMs: 1_000 });
    expect(socket.sent.map((s) => [s.event, s.payload.last])).toEqual([['update:begin', undefined], ['update:chunk', true]]);
  });
});
