// Public entry point of @chorus/client. The session is transport logic only (no DOM APIs), so it
// runs in Node (simulator), Web Workers and pages alike.
export { createParticipantSession } from './session/participant-session.js';
export type { ParticipantSession, ParticipantSessionOptions, SessionStats } from './session/participant-session.js';
export type { RoundTrainer, TrainResult } from './session/round-runner.js';
export { createMemoryModelCache } from './session/model-cache.js';
export type { ModelCache } from './session/model-cache.js';
export { defaultSocketFactory } from './session/session-socket.js';
export type { SessionSocket, SocketFactory } from './session/session-socket.js';
export { downloadBytes, weightsUrl } from './session/weights-download.js';
export type { FetchLike } from './session/weights-download.js';
export type {
  SessionEventMap,
  SessionListener,
  SessionStatus,
  RoundPhase,
  ProgressEvent,
  ReceiptEvent,
  RoundFailedEvent,
} from './session/session-events.js';
