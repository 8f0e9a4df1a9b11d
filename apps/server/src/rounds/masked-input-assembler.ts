import { SecAggError } from '@chorus/core';

/** Where one part of a chunked masked input lies (the `chunk` of a `secagg:message`). */
export interface MaskedChunk {
  readonly index: number;
  readonly count: number;
  readonly byteLength: number;
}

interface Partial {
  readonly count: number;
  next: number;
  received: number;
  readonly parts: Uint8Array[];
}

/**
 * Puts a secure round's chunked masked inputs back together, one per participant, refusing
 * anything that is not exactly this round's masked input sent in order: a wrong total, parts out
 * of order, a part sent twice, a part past the total, a short last part. A refusal drops only that
 * participant's partial input (it may start again from part 0); the others are untouched.
 *
 * It holds masked bytes only, and only until they are complete: then they go to the round's
 * running sum and nothing of them stays here.
 */
export class MaskedInputAssembler {
  private readonly open = new Map<string, Partial>();
  private readonly complete = new Set<string>();

  /** @param expectedBytes the round's packed masked-input size (SecAggShape.maskedBytes) */
  constructor(readonly expectedBytes: number) {}

  /** Adds one part; returns the whole masked input when this was its last part. */
  add(participantId: string, chunk: MaskedChunk, part: Uint8Array): Uint8Array | undefined {
    try {
      return this.take(participantId, chunk, part);
    } catch (err) {
      this.open.delete(participantId);
      throw err;
    }
  }

  /** Forgets a participant's partial input (it left). */
  drop(participantId: string): void {
    this.open.delete(participantId);
  }

  /** Participants with a partial input in progress (diagnostics, tests). */
  get inProgress(): number {
    return this.open.size;
  }

  private take(participantId: string, { index, count, byteLength }: MaskedChunk, part: Uint8Array): Uint8Array | undefined {
    if (this.complete.has(participantId)) throw new SecAggError('REPLAYED', 'this participant\'s masked input is already complete');
    if (byteLength !== this.expectedBytes) throw new SecAggError('MALFORMED', `a masked input of ${byteLength} bytes was declared; this round's is ${this.expectedBytes} bytes`);
    if (count > byteLength || index >= count) throw new SecAggError('MALFORMED', `part ${index} of ${count} cannot carry a ${byteLength}-byte masked input`);
    if (part.byteLength === 0) throw new SecAggError('MALFORMED', `masked-input part ${index} is empty`);
    let p = this.open.get(participantId);
    if (index === 0) {
      if (p) throw new SecAggError('REPLAYED', 'masked-input part 0 arrived twice');
      p = { count, next: 0, received: 0, parts: [] };
      this.open.set(participantId, p);
    }
    if (!p) throw new SecAggError('MALFORMED', `masked-input part ${index} arrived before part 0`);
    if (count !== p.count) throw new SecAggError('MALFORMED', `masked-input part ${index} says ${count} parts; part 0 said ${p.count}`);
    if (index < p.next) throw new SecAggError('REPLAYED', `masked-input part ${index} arrived twice`);
    if (index > p.next) throw new SecAggError('MALFORMED', `masked-input part ${index} arrived; part ${p.next} was expected (parts go in order)`);
    if (p.received + part.byteLength > byteLength) throw new SecAggError('MALFORMED', `masked-input part ${index} goes past the declared ${byteLength} bytes`);
    p.parts.push(part);
    p.received += part.byteLength;
    p.next += 1;
    if (p.next < count) return undefined;
    this.open.delete(participantId);
    if (p.received !== byteLength) throw new SecAggError('MALFORMED', `the masked input ended after ${p.received} of its ${byteLength} bytes`);
    this.complete.add(participantId);
    const whole = new Uint8Array(byteLength);
    let offset = 0;
    for (const b of p.parts) {
      whole.set(b, offset);
      offset += b.byteLength;
    }
    return whole;
  }
}
