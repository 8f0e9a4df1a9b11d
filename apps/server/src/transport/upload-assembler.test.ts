import { describe, expect, it } from 'vitest';
import { ChorusError } from '@chorus/core';
import { UploadAssembler } from './upload-assembler.js';

const begin = (byteLength: number, roundId = 't-r1') => ({ taskId: 't', roundId, version: 0, numExamples: 1, byteLength, metrics: {} });

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return ChorusError.from(err).code;
  }
  return 'no error';
}

describe('UploadAssembler', () => {
  it('joins ordered chunks into the declared bytes', () => {
    const u = new UploadAssembler(4);
    const id = u.begin('c1', begin(6));

    expect(u.chunk('c1', id, 0, Uint8Array.of(1, 2, 3, 4))).toBe(4);
    expect(u.chunk('c1', id, 1, Uint8Array.of(5, 6))).toBe(6);
    const done = u.end('c1', id);

    expect([...done.bytes]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(done.begin.roundId).toBe('t-r1');
    expect(codeOf(() => u.end('c1', id))).toBe('NOT_FOUND');
  });

  it('refuses out-of-order, over-size and over-declared chunks, early ends and other connections', () => {
    const u = new UploadAssembler(4);
    const id = u.begin('c1', begin(6));

    expect(codeOf(() => u.chunk('c2', id, 0, Uint8Array.of(1)))).toBe('NOT_FOUND');
    expect(codeOf(() => u.chunk('c1', id, 1, Uint8Array.of(1)))).toBe('BAD_REQUEST');
    expect(codeOf(() => u.chunk('c1', id, 0, new Uint8Array(5)))).toBe('PAYLOAD_TOO_LARGE');
    const id2 = u.begin('c1', begin(3));
    expect(codeOf(() => u.chunk('c1', id2, 0, new Uint8Array(4)))).toBe('PAYLOAD_TOO_LARGE');
    const id3 = u.begin('c1', begin(3));
    u.chunk('c1', id3, 0, new Uint8Array(2));
    expect(codeOf(() => u.end('c1', id3))).toBe('BAD_REQUEST');
  });

  it('replaces an unfinished upload for the same round and bounds open uploads per connection', () => {
    const u = new UploadAssembler(4, 2);
    const first = u.begin('c1', begin(2, 'r1'));
    u.begin('c1', begin(2, 'r1'));
    u.begin('c1', begin(2, 'r2'));

    expect(codeOf(() => u.chunk('c1', first, 0, new Uint8Array(1)))).toBe('NOT_FOUND');
    expect(codeOf(() => u.begin('c1', begin(2, 'r3')))).toBe('RATE_LIMITED');
    u.dropConnection('c1');
    expect(codeOf(() => u.begin('c1', begin(2, 'r3')))).toBe('no error');
  });
  it('holds uploads in progress within its budget: beyond it a begin is refused UNAVAILABLE (retryable) and nothing already taken is lost', () => {
    const u = new UploadAssembler(4, 4, 10);
    const a = u.begin('c1', begin(6));
    let refused: ChorusError | undefined;
    try {
      u.begin('c2', begin(6));
    } catch (err) {
      refused = ChorusError.from(err);
    }
    expect([refused?.code, refused?.retryable]).toEqual(['UNAVAILABLE', true]);
    expect(u.reservedBytes()).toBe(6);

    u.chunk('c1', a, 0, Uint8Array.of(1, 2, 3, 4));
    u.chunk('c1', a, 1, Uint8Array.of(5, 6));
    expect([...u.end('c1', a).bytes]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(u.reservedBytes()).toBe(0);
    // The refused one, retried once there is room, goes through.
    const b = u.begin('c2', begin(6));
    u.chunk('c2', b, 0, Uint8Array.of(9, 9, 9, 9));
    expect(u.reservedBytes()).toBe(6);
    u.dropConnection('c2');
    expect(u.reservedBytes()).toBe(0);
  });

  it('lets a lone upload larger than the whole budget through, so the budget cannot stall a round', () => {
    const u = new UploadAssembler(4, 4, 3);
    const id = u.begin('c1', begin(5));
    u.chunk('c1', id, 0, Uint8Array.of(1, 2, 3, 4));
    u.chunk('c1', id, 1, Uint8Array.of(5));
    expect([...u.end('c1', id).bytes]).toEqual([1, 2, 3, 4, 5]);
  });
});
