import { z } from 'zod';

const id = z.string().min(1).max(128);

/** The protocol's stages a participant sends a message in. */
export const SECAGG_STAGES = ['advertise', 'share', 'mask', 'unmask'] as const;
export type SecAggWireStage = (typeof SECAGG_STAGES)[number];

/**
 * participant → server, event `secagg:message`: one stage's message of a secure round. The inner
 * `message` is parsed by the SecAgg+ state machine (which answers malformed ones with typed errors).
 * A masked input larger than one Socket.IO message goes as parts, in order, each `{ id, masked: part }`
 * with `chunk` saying where it lies; the server assembles them before the state machine sees one.
 */
export const secAggClientMessageSchema = z
  .object({
    taskId: id,
    roundId: id,
    stage: z.enum(SECAGG_STAGES),
    message: z.unknown(),
    chunk: z
      .object({
        index: z.number().int().min(0),
        count: z.number().int().min(1).max(1_000_000),
        /** The whole masked input's bytes (every part declares the same). */
        byteLength: z.number().int().min(1).max(2 ** 31),
      })
      .optional(),
  })
  .refine((m) => m.chunk === undefined || m.stage === 'mask', { message: 'only the masked input ("mask" stage) is sent in chunks', path: ['chunk'] })
  .refine((m) => m.chunk === undefined || m.chunk.index < m.chunk.count, { message: 'chunk.index must be below chunk.count', path: ['chunk', 'index'] });
export type SecAggClientMessage = z.infer<typeof secAggClientMessageSchema>;

/** server → participant, event `secagg:next`: a stage closed; `payload` is the next stage's input. */
export const secAggServerMessageSchema = z.object({
  taskId: id,
  roundId: id,
  event: z.enum(['secagg:keys', 'secagg:shares', 'secagg:unmask']),
  payload: z.unknown(),
});
export type SecAggServerMessage = z.infer<typeof secAggServerMessageSchema>;

/**
 * The invitation's secure-aggregation part: the participant's protocol id and the round's setup
 * (parsed by secAggShape on the participant; its seed travels as binary).
 */
export const secureInviteSchema = z.object({ id: z.number().int().min(1), setup: z.unknown() });
export type SecureInvite = z.infer<typeof secureInviteSchema>;

/**
 * Socket.IO delivers binary as Buffer in Node and as ArrayBuffer in browsers: both become plain
 * Uint8Array here, recursively, before a SecAgg+ message is parsed.
 */
export function normalizeBinary(value: unknown, depth = 0): unknown {
  if (depth > 8) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
  if (Array.isArray(value)) return value.map((v) => normalizeBinary(v, depth + 1));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalizeBinary(v, depth + 1)]));
  return value;
}
