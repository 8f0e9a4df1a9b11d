import { z } from 'zod';
import { ChorusError, TASK_STATUSES, float32View, capabilitiesSchema, secAggClientMessageSchema, secAggServerMessageSchema, modelUpdatedSchema, roundCancelSchema, roundInviteSchema, taskStatusSchema, updateBeginSchema, updateReceiptSchema, wireErrorSchema } from '@chorus/core';
import type { CoordinatorEvent, CoordinatorRequest, PartialSum } from '../rounds/coordination.js';
import { SIGNATURE_LENGTH } from '../rounds/update-signature.js';

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

/** A request as it travels (bus-frames.ts carries its byte arrays raw). */
const bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected bytes');
/** A process's uploads running for one round: bounded by its connections. */
const inFlight = z.number().int().nonnegative().max(10_000_000);
const wireRequestSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('check'), participantId: id, roundId: id, version: z.number().int().nonnegative(), inFlight: inFlight.optional() }),
  z.object({ kind: z.literal('slots'), roundId: id, inFlight }),
  z.object({ kind: z.literal('submit'), participantId: id, begin: updateBeginSchema, bytes }),
  z.object({ kind: z.literal('admin'), action: z.enum(['start', 'pause', 'resume', 'stop']) }),
  z.object({
    kind: z.literal('admit'),
    participantId: id,
    begin: updateBeginSchema,
    bytes: z.number().int().nonnegative(),
    verdict: z.union([z.object({ l2Norm: z.number().nonnegative(), signature: z.array(z.number().min(-1).max(1)).min(1).max(SIGNATURE_LENGTH).optional() }), z.object({ code: z.string().max(64), message: z.string().max(2000) })]),
    inFlight: inFlight.optional(),
  }),
  z.object({ kind: z.literal('partial'), roundId: id, admitted: z.number().int().nonnegative().max(10_000_000).optional() }),
  z.object({ kind: z.literal('summary') }),
  // Checked with the participant-facing schema on arrival (fromWireRequest).
  z.object({ kind: z.literal('secagg'), participantId: id, message: z.unknown() }),
]);
type WireRequest = z.infer<typeof wireRequestSchema>;

export const toWireRequest = (r: CoordinatorRequest): WireRequest => r;

export function fromWireRequest(r: WireRequest): CoordinatorRequest {
  if (r.kind !== 'secagg') return r;
  const message = secAggClientMessageSchema.safeParse(r.message);
  if (!message.success) throw new ChorusError('BAD_REQUEST', `forwarded secagg:message: ${message.error.issues[0]?.message ?? 'malformed'}`);
  return { ...r, message: message.data };
}

/** To the coordinator of `taskId`, on the channel every process hears (only the coordinator acts). */
export const tellSchema = z.object({ t: z.literal('tell'), from: id, taskId: id, event: coordinatorEventSchema });

/** To one process (the lease holder), on its own channel; the answer goes back to `from`'s channel. */
export const askSchema = z.object({ t: z.literal('ask'), from: id, id, taskId: id, request: wireRequestSchema });

/** A partial sum as it travels: Σ nᵢuᵢ as float32 bytes. */
export const wirePartialSchema = z.object({
  count: z.number().int().nonnegative(),
  examples: z.number().nonnegative(),
  participants: z.array(id).max(1_000_000),
  sum: bytes,
  metrics: z.record(z.string().max(64), z.object({ sum: z.number(), weight: z.number() })),
});

export const toWirePartial = (p: PartialSum): z.infer<typeof wirePartialSchema> => ({ ...p, participants: [...p.participants], sum: new Uint8Array(p.sum.buffer, p.sum.byteOffset, p.sum.byteLength) });

export function fromWirePartial(p: z.infer<typeof wirePartialSchema>): PartialSum {
  if (p.sum.byteLength % 4 !== 0) throw new ChorusError('BAD_REQUEST', `partial sum: ${p.sum.byteLength} bytes is not a whole number of float32 values`);
  if (p.participants.length !== p.count) throw new ChorusError('BAD_REQUEST', `partial sum: ${p.count} updates but ${p.participants.length} participants named`);
  // decodeFrame gave the sum an ArrayBuffer of its own: viewed, as a mirror views a commit's weights.
  return { ...p, sum: float32View(p.sum) };
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

/** A receipt, a status (admin), a round's rules (check), its open slots (slots), a partial sum or a live summary. */
const openSlots = z.number().int().nonnegative().nullable();
const answerSchema = z.union([
  updateReceiptSchema,
  z.object({ received: z.literal(true) }),
  z.enum(TASK_STATUSES),
  z.object({ bound: z.number().nullable(), partial: z.boolean(), openSlots: openSlots.optional(), signature: z.boolean().optional() }),
  z.object({ openSlots }).strict(),
  wirePartialSchema,
  liveSummarySchema,
]);

export const replySchema = z.discriminatedUnion('ok', [
  z.object({ t: z.literal('reply'), id, ok: z.literal(true), data: answerSchema }),
  z.object({ t: z.literal('reply'), id, ok: z.literal(false), error: wireErrorSchema }),
]);

/** Sockets one relayed send is for: at most every connection a process may hold, many times over. */
const socketIds = z.array(id).min(1).max(1_000_000);

/** A coordinator's sends to sockets held by other processes (ClusterCoordination.relay): each process writes its own. */
export const deliveryItemSchema = z.discriminatedUnion('event', [
  z.object({ event: z.literal('round:invite'), ids: socketIds, msg: roundInviteSchema }),
  z.object({ event: z.literal('round:cancel'), ids: socketIds, msg: roundCancelSchema }),
  z.object({ event: z.literal('task:status'), ids: socketIds, msg: taskStatusSchema }),
  z.object({ event: z.literal('secagg:next'), ids: socketIds, msg: secAggServerMessageSchema }),
]);
export type DeliveryItem = z.infer<typeof deliveryItemSchema>;

/** To every process: a task's stored state changed, a task was created, or a broadcast for their sockets. */
export const announceSchema = z.union([
  z.object({ t: z.literal('changed'), from: id, taskId: id }),
  z.object({ t: z.literal('created'), from: id, taskId: id }),
  z.object({ t: z.literal('broadcast'), from: id, taskId: id, event: z.literal('model:updated'), msg: modelUpdatedSchema }),
  z.object({ t: z.literal('broadcast'), from: id, taskId: id, event: z.literal('task:status'), msg: taskStatusSchema }),
  // A new coordinator cancelling the round its dead predecessor left open, for every process's sockets.
  z.object({ t: z.literal('broadcast'), from: id, taskId: id, event: z.literal('round:cancel'), msg: roundCancelSchema }),
  // A round committed a version: mirrors follow it in place, with its weights (float32 bytes) and
  // strategy state when they are small enough to travel on the bus, else from the database.
  z.object({
    t: z.literal('committed'),
    from: id,
    taskId: id,
    version: z.number().int().positive(),
    round: z.number().int().positive(),
    weights: bytes.optional(),
    strategyState: bytes.nullable().optional(),
  }),
  // A process wrote a new version to all its participants (the coordinator opens the next round once every live one has).
  z.object({ t: z.literal('written'), from: id, taskId: id, version: z.number().int().positive() }),
  // Sends to sockets on other processes, in the order the coordinator made them.
  z.object({ t: z.literal('deliver'), from: id, items: z.array(deliveryItemSchema).min(1).max(100_000) }),
  // A round (or an asynchronous assignment) is over: begins waiting for it anywhere are answered ROUND_CLOSED.
  z.object({ t: z.literal('round-over'), from: id, taskId: id, roundId: id, reason: z.string().max(2000) }),
]);

export type Tell = z.infer<typeof tellSchema>;
export type Ask = z.infer<typeof askSchema>;
export type Reply = z.infer<typeof replySchema>;
export type Announce = z.infer<typeof announceSchema>;
/** An announcement as a process sends it (the bus adds `from`); Omit over each kind, not over their common keys. */
export type AnnounceBody = Announce extends infer A ? (A extends unknown ? Omit<A, 'from'> : never) : never;
export type { CoordinatorEvent };
