import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame } from './bus-frames.js';

describe('bus frames', () => {
  it('carry byte arrays raw beside the JSON, and give them back as Uint8Arrays', () => {
    const update = new Uint8Array(200_000).map((_, i) => i % 251);
    const message = { t: 'ask', request: { kind: 'submit', bytes: update, nested: [{ key: Uint8Array.from([7]) }, 'x', 3, null] } };
    const frame = encodeFrame(message);
    const back = decodeFrame(frame) as typeof message;
    expect(back).toEqual(message);
    expect(back.request.bytes).toBeInstanceOf(Uint8Array);
    // The update costs its bytes plus a small header, not 4/3 of them as base64.
    expect(frame.byteLength).toBeLessThan(update.byteLength + 200);
  });

  it('refuse a truncated or padded frame and a reference to a missing byte array with a typed error', () => {
    const frame = encodeFrame({ a: Uint8Array.from([1, 2, 3]) });
    expect(() => decodeFrame(frame.subarray(0, frame.byteLength - 1))).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => decodeFrame(Buffer.concat([frame, Buffer.from([0])]))).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => decodeFrame(Buffer.from('not a frame'))).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    // A reference to a byte array the frame lacks; and a message that holds the reserved key is not sent.
    const header = Buffer.from(JSON.stringify({ a: { $bin: 0 } }));
    const fixed = Buffer.alloc(8);
    fixed.writeUInt32LE(header.byteLength, 0);
    expect(() => decodeFrame(Buffer.concat([fixed, header]))).toThrow(/no byte array 0/);
    expect(() => encodeFrame({ a: { $bin: 0 } })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    let deep: unknown = 1;
    for (let i = 0; i < 20; i++) deep = { deep };
    expect(() => encodeFrame(deep)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });
});
