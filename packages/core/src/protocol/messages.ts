import { z } from 'zod';
import { CODEC_IDS } from '../codecs/codec.js';
import { SKETCH_PROJECTIONS } from '../weights/model-sketch.js';
import { metricsSchema } from './metrics.js';
import { ERROR_CODES, type WireError } from '../errors/chorus-error.js';
import { PROTOCOL_VERSION } from './version.js';
import { personalizationInfoSchema } from './personalization.js';
import { dataSchemaSchema, trainingConfigSchema } from './task.js';
import { secureInviteSchema, type SecAggClientMessage, type SecAggServerMessage } from './secagg-wire.js';

/**
 * Every Socket.IO message between a participant and the server. Client → server events carry an
 * acknowledgement callback that receives an `Ack`. Model weights never travel here as numbers: they
 * are fetched over HTTP as binary payloads, and updates are uploaded as binary chunks.
 */

const id = z.string().min(1).max(128);
const metrics = metricsSchema;

export const capabilitiesSchema = z.object({
  /** tfjs backend the client trains on: webgpu, webgl, wasm, cpu, … */
  backend: z.string().max(32),
  /** Measured training throughput on this model, examples per second. */
  samplesPerSecond: z.number().nonnegative().finite().optional(),
  numExamples: z.number().int().nonnegative().max(1e9, 'at most 1e9 local examples'),
  platform: z.string().max(200).optional(),
});
export type Capabilities = z.infer<typeof capabilitiesSchema>;

// ---- client → server ----

export const joinRequestSchema = z.object({
  protocolVersion: z.number().int(),
  taskId: id,
  /** Returned by a previous join; lets a reconnecting participant keep its identity and round. */
  participantId: id.optional(),
  /** Signed pseudonymous participant token (when the server issues them). */
  token: z.string().max(4096).optional(),
  capabilities: capabilitiesSchema,
});
export type JoinRequest = z.infer<typeof joinRequestSchema>;

export const updateBeginSchema = z.object({
  taskId: id,
  roundId: id,
  /** The global version this update is a delta from. */
  version: z.number().int().nonnegative(),
  numExamples: z.number().int().positive().max(1e9, 'at most 1e9 examples'),
  byteLength: z.number().int().positive(),
  metrics: metrics.default({}),
});
export type UpdateBegin = z.infer<typeof updateBeginSchema>;

export const updateChunkSchema = z.object({
  uploadId: id,
  seq: z.number().int().nonnegative(),
  data: z.instanceof(Uint8Array),
  /**
   * The upload's last chunk: the server ends the upload with it and acknowledges it with the
   * receipt, as update:end would, which saves the participant one round trip per update (and the
   * server one message). update:end stays for clients that do not send it.
   */
  last: z.literal(true).optional(),
});
export type UpdateChunk = z.infer<typeof updateChunkSchema>;
/** update:chunk's acknowledgement: the bytes received so far, and the receipt when the chunk was the `last`. */
export interface UpdateChunkResponse {
  readonly received: number;
  readonly receipt?: UpdateReceipt;
}

export const updateEndSchema = z.object({ uploadId: id });
export type UpdateEnd = z.infer<typeof updateEndSchema>;

export const roundDeclineSchema = z.object({ taskId: id, roundId: id, reason: z.string().max(500) });
export type RoundDecline = z.infer<typeof roundDeclineSchema>;

export const capabilitiesUpdateSchema = z.object({ taskId: id, capabilities: capabilitiesSchema });
export type CapabilitiesUpdate = z.infer<typeof capabilitiesUpdateSchema>;

// ---- server → client ----

export const taskInfoSchema = z.object({
  id,
  name: z.string(),
  description: z.string(),
  status: z.string(),
  data: dataSchemaSchema,
  training: trainingConfigSchema,
  codec: z.enum(CODEC_IDS),
  /** URL path (relative to the server) of the TensorFlow.js model.json of the latest version. */
  modelPath: z.string(),
  /**
   * What privacy protects a contribution. `localDp`: the participant must noise its update itself
   * before upload. `central`: the server adds DP noise and reports (ε, δ) in model:updated metrics.
   * Absent on older servers and on tasks without DP.
   */
  privacy: z
    .object({
      localDp: z.object({ clipNorm: z.number().positive(), noiseMultiplier: z.number().min(0) }).optional(),
      central: z.object({ noiseMultiplier: z.number(), targetDelta: z.number(), epsilonBudget: z.number().optional() }).optional(),
    })
    .optional(),
  /**
   * The task keeps these layers on the device (FedPer / FedRep): the weights it downloads and the
   * updates it sends hold the other layers only. `personalLayers` is always resolved here (empty for
   * Ditto, which downloads and sends the whole model and keeps a whole personal copy besides).
   */
  personalization: personalizationInfoSchema.optional(),
  /** 'async' (FedBuff): the participant is invited again as soon as its update lands, on the latest version. Absent = rounds. */
  mode: z.enum(['sync', 'async']).optional(),
});
export type TaskInfo = z.infer<typeof taskInfoSchema>;
/** The personalization a participant runs, as the server sends it (personal layers resolved). */
export type PersonalizationInfo = NonNullable<TaskInfo['personalization']>;

export const joinResponseSchema = z.object({
  participantId: id,
  task: taskInfoSchema,
  latestVersion: z.number().int().nonnegative(),
  /** Largest accepted update chunk in bytes. */
  maxChunkBytes: z.number().int().positive(),
  /** Signed pseudonymous participant token: send it as `token` on the next join to keep this identity. */
  token: z.string().max(4096).optional(),
});
export type JoinResponse = z.infer<typeof joinResponseSchema>;

export const roundInviteSchema = z.object({
  taskId: id,
  roundId: id,
  round: z.number().int().positive(),
  version: z.number().int().nonnegative(),
  /** Epoch milliseconds by which the update must be fully uploaded. */
  deadline: z.number().int(),
  training: trainingConfigSchema.extend({ overrides: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).default({}) }),
  codec: z.enum(CODEC_IDS),
  /** The L2 bound the server holds this round's updates to (limits.maxUpdateNorm or derived); honest clients clip to it. */
  maxUpdateNorm: z.number().positive().optional(),
  /** Present when the round is securely aggregated: the update goes through the SecAgg+ stages, not update:*. */
  secureAggregation: secureInviteSchema.optional(),
  /** modelHash of the version's exact weights: a client that rebuilt it from differences checks its copy against this. */
  weightsHash: z.string().regex(/^[0-9a-f]{16}$/).optional(),
  /**
   * modelSketch of the same weights: a client that applied a difference from an older version
   * (within the int8 codec's stated error, not bit for bit) checks its copy against this.
   */
  weightsSketch: z.object({ norm: z.number().nonnegative(), projections: z.array(z.number()).length(SKETCH_PROJECTIONS) }).optional(),
  /**
   * The task's version 0 is seededInitialWeights(layout, seed) (the server checked it bit for bit):
   * a client holding nothing rebuilds it instead of downloading it, then fetches one difference.
   */
  initialWeights: z
    .object({
      seed: z.number().int().nonnegative(),
      layout: z.array(z.object({ name: z.string().max(500), shape: z.array(z.number().int().nonnegative()).max(16) })).min(1).max(10_000),
    })
    .optional(),
});
export type RoundInvite = z.infer<typeof roundInviteSchema>;

export const roundCancelSchema = z.object({ taskId: id, roundId: id, reason: z.string() });
export type RoundCancel = z.infer<typeof roundCancelSchema>;

export const modelUpdatedSchema = z.object({
  taskId: id,
  version: z.number().int().nonnegative(),
  round: z.number().int().nonnegative(),
  metrics: metrics.default({}),
});
export type ModelUpdated = z.infer<typeof modelUpdatedSchema>;

export const updateBeginResponseSchema = z.object({ uploadId: id, maxChunkBytes: z.number().int().positive() });
export type UpdateBeginResponse = z.infer<typeof updateBeginResponseSchema>;

export const updateReceiptSchema = z.object({
  accepted: z.boolean(),
  code: z.string().optional(),
  reason: z.string().optional(),
  note: z.string().optional(),
  /** The update was securely aggregated: the server saw only the sum of the round's `participants` updates. */
  secureAggregation: z.object({ participants: z.number().int().min(1) }).optional(),
});
export type UpdateReceipt = z.infer<typeof updateReceiptSchema>;

export const taskStatusSchema = z.object({ taskId: id, status: z.string() });
export type TaskStatusMessage = z.infer<typeof taskStatusSchema>;

// ---- acknowledgements ----

export const wireErrorSchema = z.object({
  code: z.enum(Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES, ...(keyof typeof ERROR_CODES)[]]),
  message: z.string(),
  retryable: z.boolean(),
  /** The field that was wrong, when the error is about one (`update:begin.byteLength`). */
  path: z.string().optional(),
});

export type Ack<T> = { ok: true; data: T } | { ok: false; error: WireError };
export type AckFn<T> = (ack: Ack<T>) => void;

/** Typed Socket.IO event maps (shared by server and clients). */
export interface ClientToServerEvents {
  join: (req: JoinRequest, ack: AckFn<JoinResponse>) => void;
  'update:begin': (req: UpdateBegin, ack: AckFn<UpdateBeginResponse>) => void;
  'update:chunk': (req: UpdateChunk, ack: AckFn<UpdateChunkResponse>) => void;
  'update:end': (req: UpdateEnd, ack: AckFn<UpdateReceipt>) => void;
  'round:decline': (req: RoundDecline, ack: AckFn<{ ok: true }>) => void;
  capabilities: (req: CapabilitiesUpdate, ack: AckFn<{ ok: true }>) => void;
  'secagg:message': (req: SecAggClientMessage, ack: AckFn<{ ok: true }>) => void;
}

export interface ServerToClientEvents {
  'round:invite': (msg: RoundInvite) => void;
  'round:cancel': (msg: RoundCancel) => void;
  'model:updated': (msg: ModelUpdated) => void;
  'task:status': (msg: TaskStatusMessage) => void;
  'secagg:next': (msg: SecAggServerMessage) => void;
}

export { PROTOCOL_VERSION };
