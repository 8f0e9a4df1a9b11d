import { randomUUID } from 'node:crypto';
import { ChorusError, type UpdateBegin } from '@chorus/core';

interface Upload {
  readonly begin: UpdateBegin;
  readonly buffer: Uint8Array;
  received: number;
  nextSeq: number;
}

export interface CompletedUpload {
  readonly begin: UpdateBegin;
  readonly bytes: Uint8Array;
}

/**
 * Reassembles chunked update uploads, per connection. The declared size was checked against the
 * model's largest payload before `begin` is called, so the buffer allocated here is bounded.
 */
export class UploadAssembler {
  private readonly byConnection = new Map<string, Map<string, Upload>>();

  constructor(
    readonly maxChunkBytes: number,
    /** Uploads one connection may have open at once. @default 4 */
    private readonly maxOpenPerConnection = 4,
  ) {}

  begin(connectionId: string, begin: UpdateBegin): string {
    const open = this.byConnection.get(connectionId) ?? new Map<string, Upload>();
    this.byConnection.set(connectionId, open);
    // A retried upload for the same round replaces the unfinished one.
    for (const [id, u] of open) if (u.begin.taskId === begin.taskId && u.begin.roundId === begin.roundId) open.delete(id);
    if (open.size >= this.maxOpenPerConnection) {
      throw new ChorusError('RATE_LIMITED', `at most ${this.maxOpenPerConnection} uploads may be open on one connection`);
    }
    const uploadId = randomUUID();
    open.set(uploadId, { begin, buffer: new Uint8Array(begin.byteLength), received: 0, nextSeq: 0 });
    return uploadId;
  }

  chunk(connectionId: string, uploadId: string, seq: number, data: Uint8Array): number {
    const open = this.byConnection.get(connectionId);
    const u = open?.get(uploadId);
    if (!open || !u) throw new ChorusError('NOT_FOUND', `uploadId "${uploadId}" is not an open upload on this connection`);
    if (seq !== u.nextSeq) throw new ChorusError('BAD_REQUEST', `update:chunk seq ${seq} arrived; seq ${u.nextSeq} was expected`);
    if (data.byteLength > this.maxChunkBytes) {
      open.delete(uploadId);
      throw new ChorusError('PAYLOAD_TOO_LARGE', `update:chunk data is ${data.byteLength} bytes; at most ${this.maxChunkBytes} per chunk`);
    }
    if (u.received + data.byteLength > u.buffer.byteLength) {
      open.delete(uploadId);
      throw new ChorusError('PAYLOAD_TOO_LARGE', `update:chunk goes past the declared byteLength ${u.buffer.byteLength}`);
    }
    u.buffer.set(data, u.received);
    u.received += data.byteLength;
    u.nextSeq += 1;
    return u.received;
  }

  end(connectionId: string, uploadId: string): CompletedUpload {
    const open = this.byConnection.get(connectionId);
    const u = open?.get(uploadId);
    if (!open || !u) throw new ChorusError('NOT_FOUND', `uploadId "${uploadId}" is not an open upload on this connection`);
    open.delete(uploadId);
    if (u.received !== u.buffer.byteLength) {
      throw new ChorusError('BAD_REQUEST', `update:end after ${u.received} of the declared ${u.buffer.byteLength} bytes`);
    }
    return { begin: u.begin, bytes: u.buffer };
  }

  dropConnection(connectionId: string): void {
    this.byConnection.delete(connectionId);
  }
}
