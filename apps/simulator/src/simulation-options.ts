import { ChorusError, CODEC_IDS, asyncConfigSchema, type AsyncConfig, DOWNLOAD_CODEC_IDS, describeZodError, parsePartitionSpec, personalizationSchema, privacyConfigSchema, type CodecId, type Dataset, type DownloadCodecId, type PersonalizationConfigInput, type PrivacyConfig, type StrategyConfig } from '@chorus/core';

export const SIMULATION_MODELS = ['mnist-2nn', 'mnist-cnn', 'nextword-gru'] as const;
/** The one split of nextword-gru's data: each client holds one president's State of the Union addresses. */
export const BY_PRESIDENT = 'by-president';
export type SimulationModel = (typeof SIMULATION_MODELS)[number];

/**
 * Extension point for adversarial experiments (Byzantine clients, label flipping, …). Both hooks
 * are optional and only called for the clients they choose to touch.
 */
export interface SimulationAttack {
  /** Called once per client before it connects: return a replacement dataset (e.g. flipped labels) or undefined to keep it. */
  transformData?(clientIndex: number, data: Dataset): Dataset | undefined;
  /** Called after each local training, before encoding: modify `delta` in place (e.g. scale, negate, add noise). */
  transformDelta?(clientIndex: number, delta: Float32Array, context: { round: number; data: Dataset }): void;
}

export interface SimulationOptions {
  /** Simulated participants, each with its own socket and data partition. @default 10 */
  clients: number;
  /** Rounds to run (fewer when targetAccuracy is reached first). @default 5 */
  rounds: number;
  /** @default 'mnist-2nn' */
  model: SimulationModel;
  /** MNIST: iid | shards:<per-client> | dirichlet:<alpha>; nextword-gru: by-president. @default 'iid' ('by-president' for nextword-gru) */
  partition: string;
  /** Fraction C of clients that train each round: target = max(1, round(C × clients)). @default 0.1 */
  fraction: number;
  /** @default 1 */
  localEpochs: number;
  /** Local minibatch size; 0 or 'full' trains on each client's whole partition as one batch. @default 10 */
  batchSize: number | 'full';
  /** @default 0.05 */
  learningRate: number;
  /** Examples each client trains on per round, drawn afresh from its data; 0 = all of them. @default 0 */
  maxExamples: number;
  /** Update codec. @default 'int8' */
  codec: CodecId;
  /** How new versions travel down (the task's downloadCodec; 'full' = exact versions, whole downloads). @default the server's ('int8') */
  downloadCodec?: DownloadCodecId | 'full';
  /** Aggregation strategy. @default { id: 'fedavg', options: {} } */
  strategy: StrategyConfig;
  /** Existing server to use; when absent an embedded one starts on a free port with a temporary SQLite file. */
  serverUrl?: string;
  /** Seeds data partitioning, training order and codec rounding. @default 1 */
  seed: number;
  /** Round deadline; clients train one after another here, so keep it generous. @default 300_000 */
  deadlineMs: number;
  /** Stop as soon as the central test accuracy reaches this (0–1). */
  targetAccuracy?: number;
  /** Minimum accepted updates for a round to count. @default the target client count */
  minClients?: number;
  attack?: SimulationAttack;
  /** Task id on the server. @default a fresh `sim-…` id */
  taskId?: string;
  /** On-device privacy of the task, e.g. `{ localDp: { clipNorm: 1, noiseMultiplier: 0.1 } }`. @default none */
  privacy?: PrivacyConfig;
  /** Personal layers kept by each client (FedPer / FedRep), e.g. `{ method: 'fedper' }`. @default none */
  personalization?: PersonalizationConfigInput;
  /**
   * After every round, score each client on its own held-out examples (the same golden-ratio split
   * personalization uses, `holdoutFraction` of them; without personalization they are also kept out
   * of training) with the model it would use now: the global one, or the shared layers plus its own
   * personal layers. Reported as `clientHoldoutAccuracy`. @default off
   */
  clientHoldout?: number;
  /** SecAgg+ secure aggregation of every round, e.g. `{ neighbours: 20, threshold: 11 }`. @default off */
  secureAggregation?: { neighbours: number; threshold: number; quantizationBits?: number; stageDeadlineMs?: number };
  /**
   * Share of the invited clients that drop out of each round, as a closed tab would: the client
   * leaves when its turn to train comes (after a secure round's keys and shares went out) and sends
   * nothing. Who drops is drawn from the seed, the client and the round, so two runs with the same
   * seed lose the same clients. @default 0
   */
  dropout?: number;
  /**
   * Asynchronous buffered aggregation (FedBuff): the task runs in mode 'async' with these options,
   * e.g. `{ bufferSize: 4 }` (with secure aggregation: secure cohorts of bufferSize participants);
   * each report is then one buffer flush. @default off (synchronous rounds)
   */
  async?: Partial<AsyncConfig>;
}

export const DEFAULT_SIMULATION_OPTIONS: Readonly<Omit<SimulationOptions, 'serverUrl' | 'targetAccuracy' | 'minClients' | 'attack' | 'taskId' | 'privacy' | 'personalization' | 'clientHoldout' | 'secureAggregation' | 'dropout' | 'async'>> = Object.freeze({
  clients: 10,
  rounds: 5,
  model: 'mnist-2nn',
  partition: 'iid',
  fraction: 0.1,
  localEpochs: 1,
  batchSize: 10,
  learningRate: 0.05,
  maxExamples: 0,
  codec: 'int8',
  strategy: { id: 'fedavg', options: {} },
  seed: 1,
  deadlineMs: 300_000,
});

/** Largest batch the protocol allows; with ≤ 8,000 MNIST examples it is a full batch for any client. */
export const FULL_BATCH = 4096;

/**
 * Merges options over the defaults and validates them. `name` maps an option key to what the user
 * typed (the CLI passes "--local-epochs" for "localEpochs") so every message names the option.
 */
export function resolveSimulationOptions(input: Partial<SimulationOptions>, name: (key: keyof SimulationOptions) => string = (k) => k): SimulationOptions {
  const byModel = input.model === 'nextword-gru' ? { partition: BY_PRESIDENT } : {};
  const o: SimulationOptions = { ...DEFAULT_SIMULATION_OPTIONS, ...byModel, ...stripUndefined(input) };
  const fail = (key: keyof SimulationOptions, expected: string, got: unknown): never => {
    throw new ChorusError('INVALID_CONFIG', `${name(key)}: expected ${expected}, got ${JSON.stringify(got)}`);
  };
  const intIn = (key: keyof SimulationOptions, min: number, max: number): void => {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(key, `an integer from ${min} to ${max}`, v);
  };
  intIn('clients', 1, 10_000);
  intIn('rounds', 1, 100_000);
  if (!SIMULATION_MODELS.includes(o.model)) fail('model', `one of ${SIMULATION_MODELS.join(', ')}`, o.model);
  if (o.model === 'nextword-gru') {
    if (o.partition !== BY_PRESIDENT) fail('partition', `"${BY_PRESIDENT}" for nextword-gru`, o.partition);
  } else {
    try {
      parsePartitionSpec(o.partition);
    } catch {
      fail('partition', '"iid", "shards:K" (K a positive integer) or "dirichlet:ALPHA" (ALPHA > 0)', o.partition);
    }
  }
  if (typeof o.fraction !== 'number' || !(o.fraction > 0 && o.fraction <= 1)) fail('fraction', 'a number in (0, 1]', o.fraction);
  intIn('localEpochs', 1, 100);
  if (o.batchSize !== 'full' && (typeof o.batchSize !== 'number' || !Number.isInteger(o.batchSize) || o.batchSize < 0 || o.batchSize > FULL_BATCH)) {
    fail('batchSize', `an integer from 1 to ${FULL_BATCH}, or 0 / "full" for full batch`, o.batchSize);
  }
  intIn('maxExamples', 0, 1_000_000);
  if (typeof o.learningRate !== 'number' || !(o.learningRate > 0 && o.learningRate <= 10)) fail('learningRate', 'a number in (0, 10]', o.learningRate);
  if (!(CODEC_IDS as readonly string[]).includes(o.codec)) fail('codec', `one of ${CODEC_IDS.join(', ')}`, o.codec);
  if (o.downloadCodec !== undefined && !['full', ...DOWNLOAD_CODEC_IDS].includes(o.downloadCodec)) fail('downloadCodec', `full or one of ${DOWNLOAD_CODEC_IDS.join(', ')}`, o.downloadCodec);
  if (!o.strategy || typeof o.strategy.id !== 'string' || o.strategy.id.length === 0) fail('strategy', 'a strategy id such as "fedavg"', o.strategy?.id);
  o.strategy = { id: o.strategy.id, options: o.strategy.options ?? {} };
  if (o.serverUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(o.serverUrl)) fail('serverUrl', 'an http(s) URL', o.serverUrl);
  intIn('seed', 0, 2 ** 32 - 1);
  intIn('deadlineMs', 100, 86_400_000);
  if (o.targetAccuracy !== undefined && !(o.targetAccuracy > 0 && o.targetAccuracy <= 1)) fail('targetAccuracy', 'a number in (0, 1]', o.targetAccuracy);
  if (o.minClients !== undefined) intIn('minClients', 1, o.clients);
  if (o.privacy !== undefined) {
    const parsed = privacyConfigSchema.safeParse(o.privacy);
    if (!parsed.success) {
      fail('privacy', `local DP with clipNorm > 0 and noiseMultiplier ≥ 0 (${describeZodError(parsed.error)})`, o.privacy);
    }
  }
  if (o.personalization !== undefined) {
    const parsed = personalizationSchema.safeParse(o.personalization);
    if (!parsed.success) fail('personalization', `a personalization config (${describeZodError(parsed.error)})`, o.personalization);
  }
  if (o.clientHoldout !== undefined && !(typeof o.clientHoldout === 'number' && o.clientHoldout >= 0.05 && o.clientHoldout <= 0.5)) fail('clientHoldout', 'a fraction in [0.05, 0.5]', o.clientHoldout);
  if (o.dropout !== undefined && !(typeof o.dropout === 'number' && o.dropout >= 0 && o.dropout < 1)) fail('dropout', 'a fraction in [0, 1)', o.dropout);
  if (o.async !== undefined) {
    const parsed = asyncConfigSchema.safeParse(o.async);
    if (!parsed.success) fail('async', `FedBuff options such as { bufferSize: 4 } (${describeZodError(parsed.error)})`, o.async);
  }
  return o;
}

export function targetClients(o: Pick<SimulationOptions, 'clients' | 'fraction'>): number {
  return Math.max(1, Math.round(o.fraction * o.clients));
}

export function batchSizeFor(o: Pick<SimulationOptions, 'batchSize'>): number {
  return o.batchSize === 'full' || o.batchSize === 0 ? FULL_BATCH : o.batchSize;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The round quorum (`rounds.minClients`) a simulation uses when none is given: half the target, and
 * in the asynchronous mode no more than the buffer, whose closes would otherwise all be refused as
 * too small (the server refuses such a task: core's checkAsyncMode).
 */
export function defaultQuorum(target: number, asyncBufferSize?: number): number {
  return Math.max(1, Math.min(Math.ceil(target / 2), asyncBufferSize ?? Infinity));
}
