// Public entry of @chorus/embed for the Chorus side (the iframe page): the message contract shared
// with the loader. The loader itself (loader.ts) is a browser bundle built by Vite into public/embed.js.
export {
  EMBED_PROTOCOL,
  EMBED_PHASES,
  MAX_EXAMPLES_PER_CALL,
  MAX_TEXT_CHARS,
  MAX_SUGGESTIONS,
  MAX_SUGGESTION_CHARS,
  parseFrameMessage,
  parsePartnerMessage,
  findExampleProblem,
} from './messages.js';
export type {
  EmbedPhase,
  StatusEvent,
  EmbedProgressEvent,
  RoundJoinedEvent,
  EmbedErrorEvent,
  EmbedEventMap,
  EmbedEventName,
  PartnerExample,
  EmbedMethodMap,
  EmbedMethod,
  EmbedResultMap,
  FrameEventMessage,
  FrameReplyMessage,
  FrameMessage,
  PartnerCallMessage,
  ExampleSpec,
} from './messages.js';
export { readScriptConfig, frameUrl } from './script-config.js';
export type { ScriptConfig } from './script-config.js';
export type { ChorusEmbedApi } from './loader.js';
export { acceptWord } from './suggestion-strip.js';
export { checkEmbedding, normalizeOrigin, parseVisitLimits, restAfterTraining, DEFAULT_VISIT_LIMITS } from './frame-rules.js';
export type { EmbeddingFacts, VisitLimits } from './frame-rules.js';
