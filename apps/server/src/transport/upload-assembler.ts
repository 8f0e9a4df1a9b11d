import { randomUUID } from 'node:crypto';
import { ChorusError, type UpdateBegin } from '@chorus/core';

interface Upload {
  readonly begin: UpdateBegin;
  /** The chunks as they arrived: no buffer is allocated at begin, and a one-chunk update is never copied. */
  readonly parts: Uint8Array[];
  /** Declared size: what the budget holds for this upload. */
  readonly declared: number;
  received: number;
  nextSeq: number;
}

export interface CompletedUpload {
  readonly begin: UpdateBegin;
  readonly bytes: Uint8Array;
}

/**
 * Reassembles chunked update uploads, per connection. The declared size was checked against the
 * model's largest payload before `begin` is called, so each buffer allocated here is bounded, and
 * all of them together stay within `budgetBytes`: at 1,000 concurrent CNN uploads whole payloads
 * allocated at begin came to gigabytes. Beyond the budget a begin is refused UNAVAILABLE (the
 * client retries it); the UploadGate in front makes begins wait for room first, so that is rare.
 */
export class UploadAssembler {
  private readonly byConnection = new Map<string, Map<string, Upload>>();
  private reserved = 0;

  constructor(
    readonly maxChunkBytes: number,
    /** Uploads one connection may have open at once. @default 4 */
    private readonly maxOpenPerConnection = 4,
    /** Bytes all uploads in progress may hold together. @default 256 MiB */
    readonly budgetBytes = 256 * 1024 * 1024,
  ) {}

  /** Bytes held by uploads in progress. */
  reservedBytes(): number {
    return this.reserved;
  }

  /** Whether an upload of `bytes` would fit in the budget now. */
  fits(bytes: number): boolean {
    return this.reserved + bytes <= this.budgetBytes;
  }

  begin(connectionId: string, begin: UpdateBegin): string {
    const open = this.byConnection.get(connectionId) ?? new Map<string, Upload>();
    this.byConnection.set(connectionId, open);
    // A retried upload for the same round replaces the unfinished one.
    for (const [id, u] of open) if (u.begin.taskId === begin.taskId && u.begin.roundId === begin.roundId) this.remove(open, id);
    if (open.size >= this.maxOpenPerConnection) {
      throw new ChorusError('RATE_LIMITED', `at most ${this.maxOpenPerConnection} uploads may be open on one connection`);
    }
    // A lone upload larger than the whole budget still goes through, so the budget cannot stall a round.
    if (this.reserved > 0 && !this.fits(begin.byteLength)) {
      throw new ChorusError('UNAVAILABLE', `update:begin: the server holds ${this.reserved} bytes of uploads in progress (budget ${this.budgetBytes}); try again in a moment`);
    }
    const uploadId = randomUUID();
    open.set(uploadId, { begin, parts: [], declared: begin.byteLength, received: 0, nextSeq: 0 });
    this.reserved += begin.byteLength;
    return uploadId;
  }

  /** The begin of an upload in progress (to check its round is still open before taking a chunk). */
  pending(connectionId: string, uploadId: string): UpdateBegin | undefined {
    return this.byConnection.get(connectionId)?.get(uploadId)?.begin;
  }

  /** Drops an upload in progress (its round closed): its memory is given back. */
  abort(connectionId: string, uploadId: string): void {
    const open = this.byConnection.get(connectionId);
    if (open) this.remove(open, uploadId);
  }

  private remove(open: Map<string, Upload>, uploadId: string): void {
    const u = open.get(uploadId);
    if (!u) return;
    open.delete(uploadId);
    this.reserved -= u.declared;
  }

  chunk(connectionId: string, uploadId: string, seq: number, data: Uint8Array): number {
    const open = this.byConnection.get(connectionId);
    const u = open?.get(uploadId);
    if (!open || !u) throw new ChorusError('NOT_FOUND', `uploadId "${uploadId}" is not an open upload on this connection`);
    if (seq !== u.nextSeq) throw new ChorusError('BAD_REQUEST', `update:chunk seq ${seq} arrived; seq ${u.nextSeq} was expected`);
    if (data.byteLength > this.maxChunkBytes) {
      this.remove(open, uploadId);
      throw new ChorusError('PAYLOAD_TOO_LARGE', `update:chunk data is ${data.byteLength} bytes; at most ${this.maxChunkBytes} per chunk`);
    }
    if (u.received + data.byteLength > u.declared) {
      this.remove(open, uploadId);
      throw new ChorusError('PAYLOAD_TOO_LARGE', `update:chunk goes past the declared byteLength ${u.declared}`);
    }
    u.parts.push(data);
    u.received += data.byteLength;
    u.nextSeq += 1;
    return u.received;
  }

  end(connectionId: string, uploadId: string): CompletedUpload {
    const open = this.byConnection.get(connectionId);
    const u = open?.get(uploadId);
    if (!open || !u) throw new ChorusError('NOT_FOUND', `uploadId "${uploadId}" is not an open upload on this connection`);
    this.remove(open, uploadId);
    if (u.received !== u.declared) {
      throw new ChorusError('BAD_REQUEST', `update:end after ${u.received} of the declared ${u.declared} bytes`);
    }
    return { begin: u.begin, bytes: joinParts(u.parts, u.declared) };
  }

  dropConnection(connectionId: string): void {
    const open = this.byConnection.get(connectionId);
    if (open) for (const id of [...open.keys()]) this.remove(open, id);
    this.byConnection.delete(connectionId);
  }
}

/** One buffer of the parts; a single part already aligned for typed-array views is used as it is. */
function joinParts(parts: readonly Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1 && parts[0]!.byteOffset % 8 === 0) return parts[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
