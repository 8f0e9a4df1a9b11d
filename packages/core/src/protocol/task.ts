import { z } from 'zod';
import { CODEC_IDS } from '../codecs/codec.js';
import { DOWNLOAD_CODEC_IDS } from '../weights/model-delta.js';
import { personalizationSchema } from './personalization.js';
import { secureAggregationSchema } from './secure-aggregation.js';

/** Hyper-parameters sent to clients for local training. */
export const trainingConfigSchema = z.object({
  /** @default 1 */
  localEpochs: z.number().int().min(1).max(100).default(1),
  /** @default 10 */
  batchSize: z.number().int().min(1).max(4096).default(10),
  /** @default 'sgd' */
  optimizer: z.enum(['sgd', 'adam']).default('sgd'),
  /** @default 0.05 */
  learningRate: z.number().positive().max(10).default(0.05),
  /** FedProx proximal term; 0 = plain local SGD. @default 0 */
  proxMu: z.number().min(0).max(100).default(0),
  /** Use at most this many local examples per round (0 = all). @default 0 */
  maxExamples: z.number().int().min(0).default(0),
});
export type TrainingConfig = z.infer<typeof trainingConfigSchema>;

export const roundConfigSchema = z.object({
  /** Updates wanted per round; the round closes as soon as this many arrive. @default 10 */
  targetClients: z.number().int().min(1).max(100_000).default(10),
  /** Over-selection factor: invite ceil(target × this). @default 1.3 */
  overSelection: z.number().min(1).max(5).default(1.3),
  /** Minimum updates for the round to count; fewer at the deadline abandons it. @default 1 */
  minClients: z.number().int().min(1).default(1),
  /** Round deadline in milliseconds. @default 60_000 */
  deadlineMs: z.number().int().min(100).max(86_400_000).default(60_000),
  /**
   * Pause between a committed round and the next invitation, so participants are not asked to
   * train back to back (and stay under the server's per-participant upload rate). @default 0
   */
  roundIntervalMs: z.number().int().min(0).max(86_400_000).default(0),
  /** Stop after this many committed rounds (0 = run until stopped). @default 0 */
  maxRounds: z.number().int().min(0).default(0),
  /** Wait for at least this many eligible clients before starting a round. @default 1 */
  minAvailable: z.number().int().min(1).default(1),
  /** Clients with fewer local examples are not selected. @default 1 */
  minExamples: z.number().int().min(0).default(1),
  /** Allowed training backends (empty = any). @default [] */
  backends: z.array(z.string()).default([]),
});
export type RoundConfig = z.infer<typeof roundConfigSchema>;

export const strategyConfigSchema = z
  .object({
    /** Registry id of the strategy. @default 'fedavg' */
    id: z.string().min(1).default('fedavg'),
    /** Strategy-specific options, validated by the strategy's own schema. */
    options: z.record(z.string(), z.unknown()).default({}),
  })
  .default({ id: 'fedavg', options: {} });
export type StrategyConfig = z.infer<typeof strategyConfigSchema>;

/**
 * How a round picks whom to invite among the eligible participants: a policy of the server's
 * selection registry ('uniform' random, 'oort' by statistical and system utility) and its options,
 * validated by the policy when the task is created.
 */
export const selectionConfigSchema = z
  .object({
    /** Registry id of the policy. @default 'uniform' */
    id: z.string().min(1).max(64).default('uniform'),
    /** Policy options, validated by the policy's own schema. @default {} */
    options: z.record(z.string(), z.unknown()).default({}),
  })
  .default({ id: 'uniform', options: {} });
export type SelectionConfig = z.infer<typeof selectionConfigSchema>;

/**
 * Asynchronous buffered aggregation (FedBuff, Nguyen et al. 2022): participants train whenever they
 * are free, on the latest version they have; the server buffers updates and takes the server step
 * after every `bufferSize`, each update weighted by its staleness τ (versions behind).
 */
export const asyncConfigSchema = z.strictObject({
  /** K: updates per server step. @default 10 */
  bufferSize: z.number().int().min(1).max(100_000).default(10),
  /** Updates trained on a version more than this many versions behind are refused (STALE_UPDATE). @default 10 */
  maxStaleness: z.number().int().min(0).max(10_000).default(10),
  /** Staleness weight: 'sqrt' 1/√(1+τ) (the paper's), 'polynomial' (1+τ)^-stalenessExponent, 'constant' 1. @default 'sqrt' */
  stalenessWeight: z.enum(['sqrt', 'polynomial', 'constant']).default('sqrt'),
  /** Exponent a of 'polynomial'. @default 0.5 */
  stalenessExponent: z.number().min(0).max(10).default(0.5),
  /** Participants training at once (FedBuff's concurrency). @default 2 × bufferSize */
  concurrency: z.number().int().min(1).max(100_000).optional(),
});
export type AsyncConfig = z.infer<typeof asyncConfigSchema>;

/** How much an update trained τ versions ago counts (FedBuff's s(τ)). */
export function stalenessWeight(tau: number, config: Pick<AsyncConfig, 'stalenessWeight' | 'stalenessExponent'>): number {
  const t = Math.max(0, tau);
  switch (config.stalenessWeight) {
    case 'sqrt':
      return 1 / Math.sqrt(1 + t);
    case 'polynomial':
      return Math.pow(1 + t, -config.stalenessExponent);
    case 'constant':
      return 1;
  }
}

/**
 * Local differential privacy for deployments that do not trust the server: every participant clips
 * its own update to `clipNorm` and adds N(0, (noiseMultiplier·clipNorm)²) to each value before
 * encoding it, so the server only ever sees noised updates.
 */
export const localDpConfigSchema = z.strictObject({
  /** L2 bound of each participant's update. */
  clipNorm: z.number().positive('must be > 0'),
  /** Noise std on each value = noiseMultiplier × clipNorm. */
  noiseMultiplier: z.number().min(0, 'must be ≥ 0').max(1000, 'must be ≤ 1000'),
});
export type LocalDpConfig = z.infer<typeof localDpConfigSchema>;

/** Privacy applied on the participant's device. Optional; absent means off. */
export const privacyConfigSchema = z.strictObject({
  /** @default off */
  localDp: localDpConfigSchema.optional(),
});
export type PrivacyConfig = z.infer<typeof privacyConfigSchema>;

/** What a client needs to know about the data the task trains on. */
export const dataSchemaSchema = z.object({
  kind: z.enum(['image', 'tabular', 'text']),
  /** Shape of one example, e.g. [28, 28, 1]. */
  inputShape: z.array(z.number().int().positive()).min(1),
  numClasses: z.number().int().min(2),
  labels: z.array(z.string()).optional(),
  /** Name of a built-in dataset clients may use for demos ("mnist"). */
  dataset: z.string().optional(),
  /**
   * Tabular tasks: the feature columns, in input order, with the mean and standard deviation every
   * client standardizes by ((value - mean) / std), so all devices feed the model the same scale.
   */
  features: z
    .object({
      names: z.array(z.string()).min(1),
      mean: z.array(z.number()),
      std: z.array(z.number().positive()),
      /** Name of the CSV column holding the class label. */
      labelColumn: z.string(),
    })
    .optional(),
  /** Text tasks: the bag-of-words vocabulary, one input unit per token, in input order. */
  vocabulary: z.array(z.string().min(1)).min(1).optional(),
});
export type DataSchema = z.infer<typeof dataSchemaSchema>;

/**
 * Bounds every update must respect, checked before it touches the round's sum: an update outside
 * them is refused with OUT_OF_BOUNDS and a receipt saying which bound it broke. Any participant may
 * be hostile, so a finite but absurd value (a scale of 1e38, 2^53 examples) must not move the model.
 */
export const updateLimitsSchema = z.strictObject({
  /**
   * Largest L2 norm of one update (a delta from the global model). Without it the bound is derived
   * from the model at the start of each round: `normFactor × max(‖global‖₂, 0.1 × √parameters)` —
   * an honest round moves a model by a fraction of its own size, ten times its size is no update.
   * @default derived
   */
  maxUpdateNorm: z.number().positive('must be > 0').max(1e30, 'must be ≤ 1e30').optional(),
  /** Multiplier of the derived norm bound. @default 10 */
  normFactor: z.number().positive('must be > 0').max(1e6, 'must be ≤ 1e6').default(10),
  /**
   * Largest `numExamples` one update may claim (it is the update's weight in the mean). An update
   * may also never claim more examples than its participant declared when it joined. @default 100000
   */
  maxExamplesPerUpdate: z.number().int('must be an integer').min(1, 'must be ≥ 1').max(1e9, 'must be ≤ 1e9').default(100_000),
});
export type UpdateLimits = z.infer<typeof updateLimitsSchema>;

export const taskConfigSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'task id: lowercase letters, digits and dashes'),
  name: z.string().min(1).max(200),
  description: z.string().max(2000).default(''),
  /** Model template id (e.g. "mnist-2nn") that produced the topology, if any. */
  template: z.string().optional(),
  data: dataSchemaSchema,
  training: trainingConfigSchema.default(trainingConfigSchema.parse({})),
  rounds: roundConfigSchema.default(roundConfigSchema.parse({})),
  strategy: strategyConfigSchema,
  /** Client selection policy. @default { id: 'uniform', options: {} } */
  selection: selectionConfigSchema,
  /** 'sync': rounds (FedAvg); 'async': buffered asynchronous aggregation (FedBuff), options in `async`. @default 'sync' */
  mode: z.enum(['sync', 'async']).default('sync'),
  /** Options of the 'async' mode. @default its defaults when mode is 'async' */
  async: asyncConfigSchema.optional(),
  /** Codec clients use for their updates. @default 'int8' */
  codec: z.enum(CODEC_IDS).default('int8'),
  /**
   * How each new version travels down to clients that hold the one before: its difference,
   * encoded with this codec, which also defines the version (previous + decoded difference, so
   * clients match the server bit for bit); 'full' keeps exact versions and full downloads only.
   * @default 'int8'
   */
  downloadCodec: z.enum(['full', ...DOWNLOAD_CODEC_IDS]).default('int8'),
  /**
   * Seed of a template task's version 0 (seededInitialWeights): set by the server when it builds
   * the task from a template; invites pass it on so participants rebuild version 0 locally.
   */
  initialSeed: z.number().int().nonnegative().optional(),
  /** On-device privacy (local DP). Server-side DP is a strategy option (`strategy.options.dp`). @default none */
  privacy: privacyConfigSchema.optional(),
  /** Bounds on every update (norm, example count). @default derived norm bound, 100000 examples */
  limits: updateLimitsSchema.default(updateLimitsSchema.parse({})),
  /** Layers that stay on each device (FedPer / FedRep); only the others travel. @default off */
  personalization: personalizationSchema.optional(),
  /** SecAgg+: the server learns only each round's sum (see secure-aggregation.ts). @default off */
  secureAggregation: secureAggregationSchema.optional(),
});
export type TaskConfig = z.infer<typeof taskConfigSchema>;
export type TaskConfigInput = z.input<typeof taskConfigSchema>;

export const TASK_STATUSES = ['created', 'running', 'paused', 'stopped', 'completed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
