import type { UpdateBegin, UpdateReceipt } from '@chorus/core';
import { abortError } from './backoff.js';
import { request, type SessionSocket } from './session-socket.js';

export interface ChunkedUploadOptions {
  /** Largest chunk the client will send; the server's own limit (from update:begin) also applies. */
  readonly maxChunkBytes: number;
  readonly ackTimeoutMs: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (fraction: number) => void;
  /** Called with each chunk's size as the server acknowledges it. */
  readonly onBytesSent?: (bytes: number) => void;
}

/**
 * update:begin → update:chunk × n (in order, each acknowledged before the next, so no message ever
 * exceeds the server's buffer), the last one marked `last`: the server ends the upload with it and
 * acknowledges it with the receipt, one round trip fewer than a separate update:end. A server that
 * acknowledges the last chunk without a receipt (one from before `last`) gets update:end. Ack errors
 * are thrown as the server's ChorusError.
 */
export async function uploadInChunks(
  socket: SessionSocket,
  begin: UpdateBegin,
  bytes: Uint8Array,
  options: ChunkedUploadOptions,
): Promise<UpdateReceipt> {
  const started = await request(socket, 'update:begin', begin, options.ackTimeoutMs);
  const chunkBytes = Math.max(1, Math.min(options.maxChunkBytes, started.maxChunkBytes));
  let seq = 0;
  for (let offset = 0; offset < bytes.byteLength; offset += chunkBytes, seq++) {
    if (options.signal?.aborted) throw abortError(options.signal);
    // A copy, so the socket never serialises the rest of the underlying buffer.
    const end = Math.min(bytes.byteLength, offset + chunkBytes);
    const data = bytes.slice(offset, end);
    const last = end === bytes.byteLength;
    const ack = await request(socket, 'update:chunk', { uploadId: started.uploadId, seq, data, ...(last ? { last: true as const } : {}) }, options.ackTimeoutMs);
    options.onBytesSent?.(data.byteLength);
    options.onProgress?.(end / bytes.byteLength);
    if (last && ack.receipt) return ack.receipt;
  }
  if (options.signal?.aborted) throw abortError(options.signal);
  return request(socket, 'update:end', { uploadId: started.uploadId }, options.ackTimeoutMs);
}
