import { z } from 'zod';
import { ChorusError, TASK_STATUSES, capabilitiesSchema, secAggClientMessageSchema, modelUpdatedSchema, taskStatusSchema, updateBeginSchema, updateReceiptSchema, wireErrorSchema } from '@chorus/core';
import type { CoordinatorEvent, CoordinatorRequest, PartialSum } from '../rounds/coordination.js';

/**
 * What server processes say to each other over Redis pub/sub. Every message is checked with these
 * schemas on arrival: a message from another version of the server (or anything else publishing on
 * the channel) is logged and dropped, never acted on.
 */
const id = z.string().min(1).max(256);

export const coordinatorEventSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('member-add'), participantId: id, connectionId: id, capabilities: capabilitiesSchema }),
  z.object({ kind: z.literal('member-remove'), participantId: id, connectionId: id }),
  z.object({ kind: z.literal('member-caps'), participantId: id, connectionId: id, capabilities: capabilitiesSchema }),
  z.object({ kind: z.literal('decline'), participantId: id, roundId: id, reason: z.string().max(1000) }),
  z.object({ kind: z.literal('refuse'), participantId: id, roundId: id, code: z.string().max(64), message: z.string().max(2000) }),
  z.object({ kind: z.literal('download'), bytes: z.number().int().nonnegative() }),
]);

/** A request as it travels: the update's bytes as base64. */
const wireRequestSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('check'), participantId: id, roundId: id, version: z.number().int().nonnegative() }),
  z.object({ kind: z.literal('submit'), participantId: id, begin: updateBeginSchema, bytes: z.string() }),
  z.object({ kind: z.literal('admin'), action: z.enum(['start', 'pause', 'resume', 'stop']) }),
  z.object({
    kind: z.literal('admit'),
    participantId: id,
    begin: updateBeginSchema,
    bytes: z.number().int().nonnegative(),
    verdict: z.union([z.object({ l2Norm: z.number().nonnegative() }), z.object({ code: z.string().max(64), message: z.string().max(2000) })]),
  }),
  z.object({ kind: z.literal('partial'), roundId: id }),
  z.object({ kind: z.literal('summary') }),
  // The secagg message with its byte arrays as { $b64 } (checked with the participant-facing schema on arrival).
  z.object({ kind: z.literal('secagg'), participantId: id, message: z.unknown() }),
]);
type WireRequest = z.infer<typeof wireRequestSchema>;

const base64 = (b: ArrayBufferView): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

/** Nested values made JSON-safe: every byte array becomes { $b64 } (SecAgg+ keys, shares, masked inputs). */
export function bytesToWire(v: unknown, depth = 0): unknown {
  if (depth > 16) throw new ChorusError('BAD_REQUEST', 'message nested too deeply to forward');
  if (ArrayBuffer.isView(v)) return { $b64: base64(v) };
  if (v instanceof ArrayBuffer) return { $b64: Buffer.from(v).toString('base64') };
  if (Array.isArray(v)) return v.map((x) => bytesToWire(x, depth + 1));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, bytesToWire(x, depth + 1)]));
  return v;
}

/** The inverse of bytesToWire: { $b64 } back to a Uint8Array (its own copy, so aligned). */
export function bytesFromWire(v: unknown, depth = 0): unknown {
  if (depth > 16) throw new ChorusError('BAD_REQUEST', 'forwarded message nested too deeply');
  if (Array.isArray(v)) return v.map((x) => bytesFromWire(x, depth + 1));
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.$b64 === 'string' && Object.keys(o).length === 1) return new Uint8Array(Buffer.from(o.$b64, 'base64'));
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, bytesFromWire(x, depth + 1)]));
  }
  return v;
}

export function toWireRequest(r: CoordinatorRequest): WireRequest {
  if (r.kind === 'submit') return { ...r, bytes: base64(r.bytes) };
  if (r.kind === 'secagg') return { ...r, message: bytesToWire(r.message) };
  return r;
}

export function fromWireRequest(r: WireRequest): CoordinatorRequest {
  if (r.kind === 'secagg') {
    const message = secAggClientMessageSchema.safeParse(bytesFromWire(r.message));
    if (!message.success) throw new ChorusError('BAD_REQUEST', `forwarded secagg:message: ${message.error.issues[0]?.message ?? 'malformed'}`);
    return { ...r, message: message.data };
  }
  if (r.kind !== 'submit') return r;
  const b = Buffer.from(r.bytes, 'base64');
  return { ...r, bytes: new Uint8Array(b.buffer, b.byteOffset, b.byteLength) };
}

/** To the coordinator of `taskId`, on the channel every process hears (only the coordinator acts). */
export const tellSchema = z.object({ t: z.literal('tell'), from: id, taskId: id, event: coordinatorEventSchema });

/** To one process (the lease holder), on its own channel; the answer goes back to `from`'s channel. */
export const askSchema = z.object({ t: z.literal('ask'), from: id, id, taskId: id, request: wireRequestSchema });

/** A partial sum as it travels: Σ nᵢuᵢ as float32 bytes in base64. */
export const wirePartialSchema = z.object({
  count: z.number().int().nonnegative(),
  examples: z.number().nonnegative(),
  sum: z.string(),
  metrics: z.record(z.string().max(64), z.object({ sum: z.number(), weight: z.number() })),
});

export const toWirePartial = (p: PartialSum): z.infer<typeof wirePartialSchema> => ({ ...p, sum: Buffer.from(p.sum.buffer, p.sum.byteOffset, p.sum.byteLength).toString('base64') });

export function fromWirePartial(p: z.infer<typeof wirePartialSchema>): PartialSum {
  const b = Buffer.from(p.sum, 'base64');
  if (b.byteLength % 4 !== 0) throw new ChorusError('BAD_REQUEST', `partial sum: ${b.byteLength} bytes is not a whole number of float32 values`);
  // Copied: a Float32Array needs 4-byte alignment, which a Buffer from the pool may not have.
  return { ...p, sum: new Float32Array(new Uint8Array(b).buffer) };
}

/** The coordinator's view of a task's round loop (a summary read on another process). */
export const liveSummarySchema = z.object({
  status: z.enum(TASK_STATUSES),
  phase: z.enum(['idle', 'waiting-for-clients', 'collecting', 'aggregating']),
  version: z.number().int().nonnegative(),
  lastRound: z.number().int().nonnegative(),
  currentRound: z
    .object({ round: z.number().int(), roundId: id, version: z.number().int(), selected: z.number().int(), accepted: z.number().int(), startedAt: z.number(), deadline: z.number() })
    .nullable(),
  connected: z.number().int().nonnegative(),
  byBackend: z.record(z.string().max(32), z.number().int().nonnegative()),
});

/** A receipt, a status (admin), a round's rules (check), a partial sum or a live summary. */
const answerSchema = z.union([updateReceiptSchema, z.object({ received: z.literal(true) }), z.enum(TASK_STATUSES), z.object({ bound: z.number().nullable(), partial: z.boolean() }), wirePartialSchema, liveSummarySchema]);

export const replySchema = z.discriminatedUnion('ok', [
  z.object({ t: z.literal('reply'), id, ok: z.literal(true), data: answerSchema }),
  z.object({ t: z.literal('reply'), id, ok: z.literal(false), error: wireErrorSchema }),
]);

/** To every process: a task's stored state changed, a task was created, or a broadcast for their sockets. */
export const announceSchema = z.union([
  z.object({ t: z.literal('changed'), from: id, taskId: id }),
  z.object({ t: z.literal('created'), from: id, taskId: id }),
  z.object({ t: z.literal('broadcast'), from: id, taskId: id, event: z.literal('model:updated'), msg: modelUpdatedSchema }),
  z.object({ t: z.literal('broadcast'), from: id, taskId: id, event: z.literal('task:status'), msg: taskStatusSchema }),
]);

export type Tell = z.infer<typeof tellSchema>;
export type Ask = z.infer<typeof askSchema>;
export type Reply = z.infer<typeof replySchema>;
export type Announce = z.infer<typeof announceSchema>;
export type { CoordinatorEvent };
