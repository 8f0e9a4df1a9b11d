import { PROTOCOL_VERSION, createSeededRandom, encodePayload, type RoundInvite, type TensorSpec } from '@chorus/core';
import { craftInt8Payload } from './hostile-payloads.js';

/**
 * A seeded generator of hostile participant traffic: not only random bytes, but well-formed
 * messages with absurd values (huge finite scales, 2^53 examples, -0, 1e308), protocol misuse
 * (chunks out of order, lying sizes, unknown uploads) and payloads that pass every format check
 * while carrying extreme magnitudes. The same seed gives the same cases.
 */

/** One message an attacker sends: `ack: false` sends it without a callback. */
export interface HostileMessage {
  readonly event: string;
  readonly args: readonly unknown[];
  readonly ack: boolean;
}

/** A case is one message, or an upload sequence whose steps depend on the server's answers. */
export type HostileCase =
  | { readonly kind: 'message'; readonly label: string; readonly message: HostileMessage }
  | { readonly kind: 'upload'; readonly label: string; readonly numExamples: unknown; readonly payload: Uint8Array; readonly chunking: 'in-order' | 'reversed' | 'duplicate' | 'skip-end' | 'lying-size' | 'last' | 'early-last' };

export interface GeneratorContext {
  readonly taskId: string;
  readonly layout: readonly TensorSpec[];
  /** The invite the attacker holds now, if selected. */
  invite(): RoundInvite | undefined;
}

const EVENTS = ['join', 'capabilities', 'round:decline', 'update:begin', 'update:chunk', 'update:end'] as const;
const UNKNOWN_EVENTS = ['admin:login', 'constructor', '__proto__', 'update:begin ', 'x'.repeat(200), ''];

export const EXTREME_NUMBERS: readonly number[] = [
  0, -0, 1, -1, 0.5, 2 ** 31, -(2 ** 31), 2 ** 32, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, -Number.MAX_SAFE_INTEGER,
  1e308, -1e308, 5e-324, 3.4e38, 1e25, 1e30, 1e-30, 1e9 + 1,
];

export function createHostileGenerator(seed: number, ctx: GeneratorContext): () => HostileCase {
  const random = createSeededRandom(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const length = ctx.layout.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);

  function randomString(): string {
    const kinds = [
      () => '',
      () => 'x'.repeat(int(300)),
      () => 'y'.repeat(5000 + int(5000)),
      () => String.fromCharCode(...Array.from({ length: 20 }, () => int(0xffff))),
      () => '../../etc/passwd',
      () => '"; DROP TABLE tasks; --',
      () => ctx.taskId,
      () => '__proto__',
    ];
    return pick(kinds)();
  }

  function randomValue(depth = 0): unknown {
    const kinds: (() => unknown)[] = [
      () => null,
      () => undefined,
      () => pick(EXTREME_NUMBERS),
      () => random() < 0.5,
      randomString,
      () => new Uint8Array(int(2048)).map(() => int(256)),
      () => (depth > 3 ? [] : Array.from({ length: int(5) }, () => randomValue(depth + 1))),
      () => (depth > 3 ? {} : Object.fromEntries(Array.from({ length: int(5) }, () => [pick(['taskId', 'roundId', 'uploadId', 'seq', 'data', 'numExamples', 'capabilities', '__proto__', 'constructor']), randomValue(depth + 1)]))),
      () => nested(40 + int(200)),
    ];
    return pick(kinds)();
  }

  /** Deeply nested arrays: a parser that recurses must not fall over. */
  function nested(depth: number): unknown {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = [v];
    return v;
  }

  function validMessage(event: (typeof EVENTS)[number]): Record<string, unknown> {
    const invite = ctx.invite();
    const roundId = invite?.roundId ?? `${ctx.taskId}-r1`;
    const version = invite?.version ?? 0;
    switch (event) {
      case 'join':
        return { protocolVersion: PROTOCOL_VERSION, taskId: ctx.taskId, capabilities: { backend: 'wasm', numExamples: 100 } };
      case 'capabilities':
        return { taskId: ctx.taskId, capabilities: { backend: 'wasm', numExamples: 100, samplesPerSecond: 10 } };
      case 'round:decline':
        return { taskId: ctx.taskId, roundId, reason: 'busy' };
      case 'update:begin':
        return { taskId: ctx.taskId, roundId, version, numExamples: 10, byteLength: 600, metrics: { loss: 1 } };
      case 'update:chunk':
        return { uploadId: 'u-1', seq: 0, data: new Uint8Array(16) };
      case 'update:end':
        return { uploadId: 'u-1' };
    }
  }

  /** A valid message with one field (or a nested one) replaced by something hostile. */
  function mutated(): HostileCase {
    const event = pick(EVENTS);
    const msg = validMessage(event);
    const keys = Object.keys(msg);
    const key = pick([...keys, 'extra', 'capabilities.numExamples', 'metrics.loss']);
    const value = random() < 0.6 ? pick(EXTREME_NUMBERS) : randomValue();
    if (key === 'capabilities.numExamples') msg.capabilities = { backend: 'wasm', numExamples: value };
    else if (key === 'metrics.loss') msg.metrics = { loss: value, ...Object.fromEntries(Array.from({ length: int(60) }, (_, i) => [`m${i}`, i])) };
    else msg[key] = value;
    return { kind: 'message', label: `mutated ${event}.${key}`, message: { event, args: [msg], ack: true } };
  }

  function junk(): HostileCase {
    const event = random() < 0.85 ? pick(EVENTS) : pick(UNKNOWN_EVENTS);
    const args = Array.from({ length: int(3) }, () => randomValue());
    return { kind: 'message', label: `junk ${event.slice(0, 20)}`, message: { event, args, ack: random() < 0.9 } };
  }

  /** Well-formed payloads with hostile contents, sent as a real upload. */
  function hostileUpload(): HostileCase {
    const payloads: [string, () => Uint8Array][] = [
      ['int8 scale 3.4e38 × 127', () => craftInt8Payload(ctx.layout, 3.4e38, 127)],
      ['int8 scale 1e30 × 127', () => craftInt8Payload(ctx.layout, 1e30, 127)],
      ['int8 scale 1e25', () => craftInt8Payload(ctx.layout, 1e25, (i) => (i % 2 ? 127 : -127))],
      ['int8 negative scale', () => craftInt8Payload(ctx.layout, -1, 1)],
      ['int8 NaN scale', () => craftInt8Payload(ctx.layout, Number.NaN, 1)],
      ['int8 one huge chunk', () => craftInt8Payload(ctx.layout, (c) => (c === 0 ? 1e20 : 0.001), 127)],
      ['int8 subnormal scale', () => craftInt8Payload(ctx.layout, 1e-45, 127)],
      ['int8 honest', () => encodePayload({ layout: ctx.layout, values: Float32Array.from({ length }, () => (random() - 0.5) * 0.01) }, 'int8', random)],
      ['float32 instead of int8', () => encodePayload({ layout: ctx.layout, values: new Float32Array(length) }, 'float32')],
      ['truncated', () => craftInt8Payload(ctx.layout, 0.01, 1).subarray(0, 10 + int(200))],
      ['random bytes', () => new Uint8Array(100 + int(1000)).map(() => int(256))],
      ['flipped header byte', () => {
        const b = craftInt8Payload(ctx.layout, 0.01, 1);
        b[int(Math.min(b.length, 64))] ^= 1 << int(8);
        return b;
      }],
      ['wrong layout', () => encodePayload({ layout: [{ name: 'other', shape: [length] }], values: new Float32Array(length) }, 'int8')],
    ];
    const [label, make] = pick(payloads);
    const numExamples = random() < 0.7 ? 10 : pick([0, -1, 0.5, 101, 1e9, Number.MAX_SAFE_INTEGER, 2 ** 53 - 1, 1e308]);
    const chunking = pick(['in-order', 'in-order', 'in-order', 'last', 'last', 'reversed', 'duplicate', 'skip-end', 'lying-size', 'early-last'] as const);
    return { kind: 'upload', label: `upload ${label}`, numExamples, payload: make(), chunking };
  }

  return () => {
    const r = random();
    if (r < 0.3) return junk();
    if (r < 0.65) return mutated();
    return hostileUpload();
  };
}
