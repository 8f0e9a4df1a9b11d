// Public entry point of @chorus/client. The session is transport logic only (no DOM APIs), so it
// runs in Node (simulator), Web Workers and pages alike.
export { createParticipantSession } from './session/participant-session.js';
export type { ParticipantSession, ParticipantSessionOptions, SessionStats } from './session/participant-session.js';
export type { KeepForSecureRound, PersonalTrainInput, RoundTrainer, TrainResult } from './session/round-runner.js';
export { securelyAggregatedNote } from './session/round-runner.js';
export { createLocalSecureComputation } from './session/secure-computation.js';
export type { KeepingSecureComputation, SecureComputation } from './session/secure-computation.js';
export { createMemoryPersonalLayerStore } from './session/personal-layer-store.js';
export type { PersonalLayerStore } from './session/personal-layer-store.js';
export { createMemoryModelCache } from './session/model-cache.js';
export type { ModelCache } from './session/model-cache.js';
export { defaultSocketFactory } from './session/session-socket.js';
export type { SessionSocket, SocketFactory } from './session/session-socket.js';
export { downloadBytes, weightsUrl } from './session/weights-download.js';
export { withRetry } from './session/backoff.js';
export type { FetchLike } from './session/weights-download.js';
export type {
  SessionEventMap,
  SessionListener,
  SessionStatus,
  RoundStep,
  SessionProgressEvent,
  ReceiptEvent,
  RoundFailedEvent,
} from './session/session-events.js';

// Browser participant: storage, worker trainer and the controller that ties them to a session.
// The worker entry (trainer-worker.ts, which loads tfjs) is deliberately not exported: the page
// reaches it only through `new Worker(new URL(...))`, so tfjs stays out of the page's bundle.
export { createBrowserParticipant } from './participant.js';
export type { BrowserParticipant, BrowserParticipantOptions } from './participant.js';
export type { LastReceipt, ParticipantState, ParticipantPhase, RoundProgress } from './participant/participant-state.js';
export { createParticipationPolicy, PAUSE_REASON_TEXT } from './participant/participation-policy.js';
export type { ParticipationPolicy, ParticipationPolicyOptions, PauseReason } from './participant/participation-policy.js';
export { createSingleTabLock } from './participant/single-tab-lock.js';
export type { SingleTabLock } from './participant/single-tab-lock.js';
export { createResumableTrainer } from './participant/resumable-trainer.js';
export { openParticipantStorage } from './storage/participant-storage.js';
export type { ParticipantStorage } from './storage/participant-storage.js';
export { DEFAULT_DB_NAME } from './storage/participant-db.js';
export type { ExampleSource, StoredExample, PendingUpload, BackendMeasurement, BackendTrial, Contribution } from './storage/participant-db.js';
export type { ExampleCounts, NewExample } from './storage/example-store.js';
export type { ContributionSummary } from './storage/contribution-log.js';
export { idToIndex } from './storage/participant-identity.js';
export { createWorkerTrainer, defaultTrainerWorker } from './worker/worker-trainer.js';
export type { WorkerTrainer, WorkerTrainerOptions, TrainerTask } from './worker/worker-trainer.js';
export { BACKEND_IDS, isBackendId } from './worker/trainer-protocol.js';
export type { BackendId, BackendChoice, BackendProbe, TrainProgress } from './worker/trainer-protocol.js';
export { probeIndexedDb } from './storage/storage-probe.js';
export type { StorageProbe } from './storage/storage-probe.js';
export { START_UP_TIMEOUTS } from './participant/start-up-timeout.js';
