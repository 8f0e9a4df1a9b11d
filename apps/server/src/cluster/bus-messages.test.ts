import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame } from './bus-frames.js';
import { askSchema, fromWirePartial, fromWireRequest, replySchema, tellSchema, toWirePartial, toWireRequest, wirePartialSchema } from './bus-messages.js';

describe('messages between server processes', () => {
  it('carry an upload’s bytes and a partial sum unchanged, as raw bytes in a frame', () => {
    const bytes = Uint8Array.from([0, 1, 2, 250, 255]);
    const begin = { taskId: 't', roundId: 't-r1', version: 0, numExamples: 3, byteLength: 5, metrics: {} };
    const ask = askSchema.parse(decodeFrame(encodeFrame({ t: 'ask', from: 'p1', id: 'q1', taskId: 't', request: toWireRequest({ kind: 'submit', participantId: 'a', begin, bytes }) })));
    const back = fromWireRequest(ask.request);
    expect(back.kind === 'submit' && [...back.bytes]).toEqual([0, 1, 2, 250, 255]);
    const partial = { count: 2, examples: 7, participants: ['a', 'b'], sum: Float32Array.from([1.5, -2.25, 3e-8]), metrics: { loss: { sum: 3, weight: 7 } } };
    const again = fromWirePartial(wirePartialSchema.parse(decodeFrame(encodeFrame(toWirePartial(partial)))));
    expect([...again.sum]).toEqual([...partial.sum]);
    expect(again).toMatchObject({ count: 2, examples: 7, participants: ['a', 'b'], metrics: { loss: { sum: 3, weight: 7 } } });
  });

  it('refuse what does not match their schemas, so nothing malformed reaches the round', () => {
    expect(tellSchema.safeParse({ t: 'tell', from: 'p1', taskId: 't', event: { kind: 'member-add', participantId: 'a', connectionId: 's', capabilities: { backend: 'wasm', numExamples: -1 } } }).success).toBe(false);
    expect(tellSchema.safeParse({ t: 'tell', from: 'p1', taskId: 't', event: { kind: 'take-over-everything' } }).success).toBe(false);
    expect(askSchema.safeParse({ t: 'ask', from: 'p1', id: 'q', taskId: 't', request: { kind: 'admin', action: 'delete' } }).success).toBe(false);
    expect(replySchema.safeParse({ t: 'reply', id: 'q', ok: false, error: { message: 'no code' } }).success).toBe(false);
    // A partial sum whose bytes are not whole float32 values is a typed error.
    expect(() => fromWirePartial({ count: 1, examples: 1, participants: ['a'], sum: Uint8Array.from([1, 2, 3]), metrics: {} })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    // So is one that names fewer participants than the updates it holds (an adopting coordinator could count someone twice).
    expect(() => fromWirePartial({ count: 2, examples: 1, participants: ['a'], sum: new Uint8Array(4), metrics: {} })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });

  it("carry an admitted upload's coverage signature, and refuse one that is not a unit signature's values", () => {
    const begin = { taskId: 't', roundId: 't-r1', version: 0, numExamples: 3, byteLength: 5, metrics: {} };
    const admit = (verdict: unknown) => askSchema.safeParse({ t: 'ask', from: 'p1', id: 'q1', taskId: 't', request: { kind: 'admit', participantId: 'a', begin, bytes: 5, verdict } });
    const ok = admit({ l2Norm: 0.5, signature: [0.6, -0.8] });
    expect(ok.success && fromWireRequest(ok.data.request)).toMatchObject({ kind: 'admit', verdict: { l2Norm: 0.5, signature: [0.6, -0.8] } });
    expect(admit({ l2Norm: 0.5 }).success).toBe(true);
    expect(admit({ l2Norm: 0.5, signature: new Array(65).fill(0.1) }).success).toBe(false);
    expect(admit({ l2Norm: 0.5, signature: [2] }).success).toBe(false);
    expect(admit({ l2Norm: 0.5, signature: [Number.NaN] }).success).toBe(false);
    expect(admit({ l2Norm: 0.5, signature: [] }).success).toBe(false);
    // The coordinator's check answer says whether it wants one.
    const rules = replySchema.parse({ t: 'reply', id: 'q', ok: true, data: { bound: null, partial: true, openSlots: 3, signature: true } });
    expect(rules.ok && rules.data).toEqual({ bound: null, partial: true, openSlots: 3, signature: true });
  });

  it('carry a secagg message with its nested byte arrays unchanged, and refuse a malformed one with a typed error', () => {
    const message = { id: 3, masked: Uint8Array.from([9, 8, 7]), shares: [{ to: 1, box: Uint8Array.from([1, 2]) }] };
    const request = { kind: 'secagg' as const, participantId: 'a', message: { taskId: 't', roundId: 't-r1', stage: 'mask' as const, message } };
    const ask = askSchema.parse(decodeFrame(encodeFrame({ t: 'ask', from: 'p1', id: 'q1', taskId: 't', request: toWireRequest(request) })));
    const back = fromWireRequest(ask.request);
    expect(back).toEqual(request);
    expect(back.kind === 'secagg' && (back.message.message as typeof message).masked).toBeInstanceOf(Uint8Array);
    // A stage that does not exist never reaches the round.
    expect(() => fromWireRequest({ kind: 'secagg', participantId: 'a', message: { taskId: 't', roundId: 'r', stage: 'steal', message: {} } })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });
});
