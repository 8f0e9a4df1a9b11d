import { describe, expect, it } from 'vitest';
import { EMBED_PROTOCOL, findExampleProblem, parseFrameMessage, parsePartnerMessage } from './messages.js';

const event = (name: string, data: unknown) => ({ chorus: EMBED_PROTOCOL, kind: 'event', event: name, data });

describe('parseFrameMessage', () => {
  it('accepts each event the frame sends, unchanged', () => {
    const status = event('status', { phase: 'training', text: 'Training…', rounds: 2, examples: 100 });
    const progress = event('progress', { round: 3, stage: 'upload', fraction: 0.5 });
    const refused = event('refused', { code: 'FORBIDDEN', message: 'This site is not allowed to contribute to this Chorus task' });

    expect([status, progress, refused].map(parseFrameMessage)).toEqual([status, progress, refused]);
  });

  it('rejects binary payloads, extra fields, unknown events and foreign messages', () => {
    const withBytes = event('progress', { round: 1, stage: 'upload', fraction: 1, update: new Uint8Array([1, 2]) });
    const bytesAsData = event('status', new Uint8Array(8));
    const unknown = event('weights', { round: 1 });
    const badPhase = event('status', { phase: 'mining', text: '', rounds: 0, examples: 0 });
    const foreign = { type: 'webpackOk' };

    expect([withBytes, bytesAsData, unknown, badPhase, foreign, null, 'chorus'].map(parseFrameMessage)).toEqual([null, null, null, null, null, null, null]);
  });

  it('accepts replies with a count or an error, not with other values', () => {
    const ok = { chorus: EMBED_PROTOCOL, kind: 'reply', id: 4, ok: true, value: 10 };
    const bad = { chorus: EMBED_PROTOCOL, kind: 'reply', id: 4, ok: true, value: new ArrayBuffer(4) };

    expect(parseFrameMessage(ok)).toEqual(ok);
    expect(parseFrameMessage(bad)).toBeNull();
  });

  it('accepts suggest replies with at most three short words, nothing else', () => {
    const reply = (words: unknown) => ({ chorus: EMBED_PROTOCOL, kind: 'reply', id: 5, ok: true, words });

    expect(parseFrameMessage(reply(['of', 'the', 'and']))).toEqual(reply(['of', 'the', 'and']));
    expect(parseFrameMessage(reply([]))).toEqual(reply([]));
    expect([reply(['a', 'b', 'c', 'd']), reply(['x'.repeat(41)]), reply([7]), reply('of the'), reply([new Uint8Array(3)])].map(parseFrameMessage)).toEqual([null, null, null, null, null]);
  });
});

describe('parsePartnerMessage', () => {
  it('accepts the six methods and nothing else', () => {
    const call = (method: string, args: unknown) => ({ chorus: EMBED_PROTOCOL, kind: 'call', id: 1, method, args });

    expect(parsePartnerMessage(call('pause', {}))?.method).toBe('pause');
    expect(parsePartnerMessage(call('forgetMe', {}))?.method).toBe('forgetMe');
    expect(parsePartnerMessage(call('addExamples', { examples: [] }))?.method).toBe('addExamples');
    expect(parsePartnerMessage(call('addText', { text: 'The state of the union' }))?.method).toBe('addText');
    expect(parsePartnerMessage(call('addText', { text: 'x'.repeat(10_001) }))).toBeNull();
    expect(parsePartnerMessage(call('addText', { text: 42 }))).toBeNull();
    expect(parsePartnerMessage(call('suggest', { text: 'The state of the' }))?.method).toBe('suggest');
    expect(parsePartnerMessage(call('suggest', { text: 'x'.repeat(10_001) }))).toBeNull();
    expect(parsePartnerMessage(call('suggest', { text: 'a', extra: 1 }))).toBeNull();
    expect(parsePartnerMessage(call('readStorage', {}))).toBeNull();
    expect(parsePartnerMessage(call('pause', { evil: true }))).toBeNull();
    expect(parsePartnerMessage({ ...call('pause', {}), id: -1 })).toBeNull();
  });
});

describe('findExampleProblem', () => {
  const spec = { inputSize: 4, numClasses: 3, maxCount: 2 };

  it('accepts well-formed examples', () => {
    expect(findExampleProblem([{ input: [0, 0.5, 1, 0], label: 2 }], spec)).toBeNull();
  });

  it('names the first problem: count, shape, finiteness, label range', () => {
    const ex = (input: unknown, label: unknown) => ({ input, label });

    expect([
      findExampleProblem([], spec),
      findExampleProblem([ex([0, 0, 0, 0], 0), ex([0, 0, 0, 0], 0), ex([0, 0, 0, 0], 0)], spec),
      findExampleProblem([ex([0, 0, 0], 0)], spec),
      findExampleProblem([ex([0, Number.NaN, 0, 0], 0)], spec),
      findExampleProblem([ex([0, 0, 0, 0], 3)], spec),
      findExampleProblem([ex([0, 0, 0, 0], 1.5)], spec),
      findExampleProblem('x', spec),
    ]).toEqual([
      'examples: the list is empty',
      'examples: at most 2 per call, got 3',
      'examples[0].input: expected 4 numbers, got 3',
      'examples[0].input[1]: expected a finite number',
      'examples[0].label: expected an integer from 0 to 2, got 3',
      'examples[0].label: expected an integer from 0 to 2, got 1.5',
      'examples: expected an array of { input, label }',
    ]);
  });
});
