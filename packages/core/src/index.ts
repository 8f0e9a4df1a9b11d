// Public entry point of @chorus/core. Pure TypeScript: no DOM, no Node APIs.
// Every name is listed: what other packages use, plus what a plug-in needs to add a strategy,
// aggregator or codec. Internals (the math, the optimizers, the codec instances) stay inside.

// ---- errors: one policy for every boundary ----
export { ChorusError, ERROR_CODES, errorPolicy, isErrorCode, type ErrorCode, type ErrorPolicy, type WireError } from './errors/chorus-error.js';
export { describeZodError, describeZodProblem, zodChorusError, type ZodProblem } from './errors/zod-error.js';

// ---- extension points ----
export { createRegistry, type Registry, type RegistryOptions } from './registry/create-registry.js';
export {
  createStrategy,
  getStrategy,
  listStrategies,
  registerStrategy,
  unregisterStrategy,
  type StrategyFactory,
  type StrategyRegistration,
} from './strategies/registry.js';
export {
  getAggregator,
  listAggregators,
  registerAggregator,
  unregisterAggregator,
  type AggregatorParams,
  type AggregatorRegistration,
} from './strategies/aggregators/aggregator-registry.js';
export { getCodec, getCodecByCode, listCodecs, registerCodec, unregisterCodec } from './codecs/codec-registry.js';

// ---- strategies: the contract and what the server needs to run one ----
export type { AddOutcome, AggregateResult, ClientFailure, ClientUpdate, EncodedUpdate, FitOverrides, RoundAggregator, RoundContext, Strategy } from './strategies/strategy.js';
export { parseStrategyOptions } from './strategies/parse-options.js';
// For strategies written outside core: the shared aggregation options, and FedAvg to build on.
export { aggregationOptionsShape, checkAggregationOptions, type AggregationOptions } from './strategies/aggregation-options.js';
export { createFedAvgStrategy } from './strategies/fedavg.js';
export { clipToNorm, updateNormBound } from './strategies/update-bounds.js';
export { l2Norm } from './strategies/aggregators/robust-math.js';
export { createWeightedMeanAggregator } from './strategies/aggregators/weighted-mean.js';

// ---- weights, payloads and codecs ----
export { assertSameLayout, layoutSize, sameLayout, tensorSize, type FlatWeights, type TensorSpec } from './weights/layout.js';
export { defaultPersonalLayers, gatherTensors, layerOfTensor, mergeTensors, splitLayout, type PersonalSplit, type PersonalWeights } from './weights/personal-split.js';
export { initialPersonalLayers, personalLayersOrStart, personalWeightsForPrediction, PERSONAL_INIT_SEED } from './weights/personal-start.js';
export { DITTO_LAMBDA_DEFAULT, MIN_PERSONAL_REPORTS, PERSONAL_METRICS, personalizationInfoSchema, personalizationSchema, withoutPersonalMetrics, type PersonalizationConfig, type PersonalizationConfigInput } from './protocol/personalization.js';
export { secureAggregationSchema, type SecureAggregationConfig } from './protocol/secure-aggregation.js';
export { checkAsyncMode } from './protocol/async-mode-check.js';
export { checkSecureAggregation } from './protocol/secure-aggregation-check.js';
export {
  SECAGG_STAGES,
  normalizeBinary,
  secAggClientMessageSchema,
  secAggServerMessageSchema,
  secureInviteSchema,
  type SecAggClientMessage,
  type SecAggServerMessage,
  type SecAggWireStage,
  type SecureInvite,
} from './protocol/secagg-wire.js';
export { decodePayload, encodePayload, float32View, maxPayloadBytes, parsePayload, readPayloadHeader } from './weights/payload.js';
export { NEAR_DELTA_CODEC, applyNearDelta, encodeNearDelta, nearDeltaErrorBound } from './weights/near-delta.js';
export { SKETCH_PROJECTIONS, modelSketch, sketchAgrees, type ModelSketch } from './weights/model-sketch.js';
export { seededGlorotWeights, seededInitialWeights } from './weights/seeded-init.js';
export { DOWNLOAD_CODEC_IDS, applyModelDelta, encodeModelStep, maxModelDeltaBytes, modelHash, type DownloadCodecId, type ModelStep } from './weights/model-delta.js';
export { CODEC_IDS, type CodecId, type EncodeOptions, type RandomSource, type UpdateCodec } from './codecs/codec.js';
export { roundCodecSeed } from './codecs/hadamard.js';
export { TOPK_FRACTION, TOPK_Q4_FRACTION, topKCount } from './codecs/topk-codec.js';
export { firstNonFinite, type NormedUpdateCodec } from './codecs/codec-checks.js';
export { allocateFoldTarget, foldKernelAvailable, isKernelFoldTarget } from './kernels/fold-kernel.js';

// ---- protocol: version, messages, task config, admin API shapes ----
export { PROTOCOL_VERSION } from './protocol/version.js';
export { METRIC_LIMITS, boundMetrics, metricsSchema } from './protocol/metrics.js';
export {
  capabilitiesSchema,
  capabilitiesUpdateSchema,
  joinRequestSchema,
  joinResponseSchema,
  modelUpdatedSchema,
  roundCancelSchema,
  roundDeclineSchema,
  roundInviteSchema,
  taskInfoSchema,
  taskStatusSchema,
  updateBeginResponseSchema,
  updateBeginSchema,
  updateChunkSchema,
  updateEndSchema,
  updateReceiptSchema,
  wireErrorSchema,
  type Ack,
  type AckFn,
  type Capabilities,
  type CapabilitiesUpdate,
  type ClientToServerEvents,
  type JoinRequest,
  type JoinResponse,
  type ModelUpdated,
  type RoundCancel,
  type RoundDecline,
  type RoundInvite,
  type ServerToClientEvents,
  type TaskInfo,
  type PersonalizationInfo,
  type TaskStatusMessage,
  type UpdateBegin,
  type UpdateBeginResponse,
  type UpdateChunk,
  type UpdateChunkResponse,
  type UpdateEnd,
  type UpdateReceipt,
} from './protocol/messages.js';
export {
  TASK_STATUSES,
  asyncConfigSchema,
  stalenessWeight,
  dataSchemaSchema,
  localDpConfigSchema,
  privacyConfigSchema,
  roundConfigSchema,
  selectionConfigSchema,
  strategyConfigSchema,
  taskConfigSchema,
  trainingConfigSchema,
  updateLimitsSchema,
  type AsyncConfig,
  type DataSchema,
  type LocalDpConfig,
  type PrivacyConfig,
  type RoundConfig,
  type SelectionConfig,
  type StrategyConfig,
  type TaskConfig,
  type TaskConfigInput,
  type TaskStatus,
  type TrainingConfig,
  type UpdateLimits,
} from './protocol/task.js';
export type { PartnerKeyRecord, PartnerKeyUsage, PartnerKeyWithUsage, RoundRecord, RoundState } from './protocol/admin-api.js';
export { STORAGE_FALLBACKS, type StorageFallback } from './protocol/admin-api.js';

// ---- privacy ----
export { createRdpAccountant, noiseForEpsilon } from './privacy/rdp-accountant.js';
export { dpOptionsSchema, type DpOptions } from './privacy/dp-options.js';
export { applyLocalDp } from './privacy/local-dp.js';
export { planPrivacy } from './privacy/privacy-plan.js';

// ---- secure aggregation (SecAgg+): the same state machines in the worker, the simulator and the server ----
export { SECAGG_REASONS, SecAggError, type SecAggReason } from './secagg/secagg-error.js';
export {
  DEFAULT_QUANTIZATION_BITS,
  MAX_NEIGHBOURS,
  neighbourDegree,
  ringBitsFor,
  secAggSetupSchema,
  secAggShape,
  type SecAggSetup,
  type SecAggSetupInput,
  type SecAggShape,
} from './secagg/secagg-params.js';
export {
  SEALED_SHARE_BYTES,
  SHARE_BYTES,
  advertiseKeysSchema,
  incomingSharesSchema,
  maskedInputSchema,
  neighbourKeysSchema,
  parseSecAggMessage,
  shareKeysSchema,
  unmaskingRequestSchema,
  unmaskingResponseSchema,
  type AdvertiseKeys,
  type IncomingShares,
  type MaskedInput,
  type NeighbourKeys,
  type ShareKeys,
  type UnmaskingRequest,
  type UnmaskingResponse,
} from './secagg/secagg-messages.js';
export { SecAggParticipant } from './secagg/secagg-participant.js';
export { SecAggServer, type SecAggReport, type SecAggResult, type SecAggStage } from './secagg/secagg-server.js';

// ---- async ----
export { createSerialQueue, type SerialQueue } from './async/serial-queue.js';

// ---- data and randomness (simulator, partitioned demo shards) ----
export type { Dataset } from './data/dataset.js';
export { parsePartitionSpec, partitionIndices, subsetDataset } from './data/partition.js';
export { createSeededRandom, gaussian, shuffleInPlace } from './random/seeded-random.js';
export { optionsJsonSchema, strategyCatalog, type JsonSchema, type StrategyCatalog } from './strategies/strategy-catalog.js';
