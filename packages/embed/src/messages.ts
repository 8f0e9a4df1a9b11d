/**
 * Every message between a partner page (the loader) and the Chorus iframe, typed in one file and
 * validated on receipt on both sides. Hand-written checks instead of zod: this file is bundled into
 * the loader, which must stay a few KB.
 *
 * Nothing here can carry model weights or updates: validators reject binary values outright, so the
 * partner page never receives update bytes even by mistake.
 */

/** Marks our messages among whatever else a page posts. Bump on an incompatible change. */
export const EMBED_PROTOCOL = 'chorus-embed/1';

/** Most examples one addExamples call may carry. */
export const MAX_EXAMPLES_PER_CALL = 500;
/** Longest text one addText or suggest call may carry (a long comment). */
export const MAX_TEXT_CHARS = 10_000;
/** Most words one suggest reply may carry, and the longest word. */
export const MAX_SUGGESTIONS = 3;
export const MAX_SUGGESTION_CHARS = 40;

/** What the visitor's browser is doing, as the partner page may show it. */
/** 'unavailable': this browser keeps the frame from storing anything and the key asks to link out instead. */
export const EMBED_PHASES = ['checking', 'refused', 'unavailable', 'connecting', 'training', 'waiting', 'paused', 'resting', 'done', 'stopped', 'failed'] as const;
export type EmbedPhase = (typeof EMBED_PHASES)[number];

export interface StatusEvent {
  readonly phase: EmbedPhase;
  /** One plain sentence for people. */
  readonly text: string;
  /** Rounds this browser has contributed to on this task. */
  readonly rounds: number;
  /** Labelled examples stored on this device for the task. */
  readonly examples: number;
}

export interface EmbedProgressEvent {
  readonly round: number;
  readonly stage: 'download' | 'train' | 'upload';
  /** 0…1 */
  readonly fraction: number;
}

export interface RoundJoinedEvent {
  readonly round: number;
}

export interface EmbedErrorEvent {
  readonly code: string;
  readonly message: string;
}

/** Events the iframe sends to the partner page, by name. */
export interface EmbedEventMap {
  ready: { readonly taskId: string };
  status: StatusEvent;
  progress: EmbedProgressEvent;
  roundJoined: RoundJoinedEvent;
  error: EmbedErrorEvent;
  /** The embedding site is not allowed for this key/task; nothing was started. */
  refused: EmbedErrorEvent;
}
export type EmbedEventName = keyof EmbedEventMap;

/** A labelled example from the partner: `input` flattened in row-major order, `label` a class index. */
export interface PartnerExample {
  readonly input: readonly number[];
  readonly label: number;
}

export interface EmbedMethodMap {
  addExamples: { readonly examples: readonly PartnerExample[] };
  /** Keyboard (next-word) tasks: text the visitor wrote in the partner's box, opted in; the frame keeps its next-word examples. */
  addText: { readonly text: string };
  /**
   * Keyboard tasks: the next words the task's model suggests after the text in the partner's box so
   * far. The frame reads the text to predict and keeps none of it.
   */
  suggest: { readonly text: string };
  pause: Record<string, never>;
  resume: Record<string, never>;
  /** Stops taking part and deletes this visitor's Chorus data in this browser. */
  forgetMe: Record<string, never>;
}
export type EmbedMethod = keyof EmbedMethodMap;

/** What each call resolves with. */
export interface EmbedResultMap {
  /** How many examples were kept. */
  addExamples: number;
  addText: number;
  /** At most MAX_SUGGESTIONS words, most likely first. */
  suggest: readonly string[];
  pause: undefined;
  resume: undefined;
  forgetMe: undefined;
}

export type FrameEventMessage = {
  [K in EmbedEventName]: { readonly chorus: typeof EMBED_PROTOCOL; readonly kind: 'event'; readonly event: K; readonly data: EmbedEventMap[K] };
}[EmbedEventName];

export interface FrameReplyMessage {
  readonly chorus: typeof EMBED_PROTOCOL;
  readonly kind: 'reply';
  readonly id: number;
  readonly ok: boolean;
  /** For addExamples and addText: how many were stored. */
  readonly value?: number;
  /** For suggest: the suggested words. */
  readonly words?: readonly string[];
  readonly error?: EmbedErrorEvent;
}

export type FrameMessage = FrameEventMessage | FrameReplyMessage;

export type PartnerCallMessage = {
  [M in EmbedMethod]: { readonly chorus: typeof EMBED_PROTOCOL; readonly kind: 'call'; readonly id: number; readonly method: M; readonly args: EmbedMethodMap[M] };
}[EmbedMethod];

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) && !(v instanceof ArrayBuffer);
const isStr = (v: unknown, max = 500): v is string => typeof v === 'string' && v.length <= max;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isFraction = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= 1;
const hasOnly = (o: Obj, keys: readonly string[]): boolean => Object.keys(o).every((k) => keys.includes(k));

function isEventData(event: string, d: unknown): boolean {
  if (!isObj(d)) return false;
  switch (event) {
    case 'ready':
      return hasOnly(d, ['taskId']) && isStr(d.taskId, 200);
    case 'status':
      return hasOnly(d, ['phase', 'text', 'rounds', 'examples']) && (EMBED_PHASES as readonly unknown[]).includes(d.phase) && isStr(d.text) && isCount(d.rounds) && isCount(d.examples);
    case 'progress':
      return hasOnly(d, ['round', 'stage', 'fraction']) && isCount(d.round) && ['download', 'train', 'upload'].includes(d.stage as string) && isFraction(d.fraction);
    case 'roundJoined':
      return hasOnly(d, ['round']) && isCount(d.round);
    case 'error':
    case 'refused':
      return isErrorData(d);
    default:
      return false;
  }
}

const isWords = (v: unknown): v is readonly string[] => Array.isArray(v) && v.length <= MAX_SUGGESTIONS && v.every((w) => isStr(w, MAX_SUGGESTION_CHARS));

const isErrorData = (d: unknown): d is EmbedErrorEvent => isObj(d) && hasOnly(d, ['code', 'message']) && isStr(d.code, 40) && isStr(d.message);

/** A message from the iframe, or null when `data` is not exactly one of ours. */
export function parseFrameMessage(data: unknown): FrameMessage | null {
  if (!isObj(data) || data.chorus !== EMBED_PROTOCOL) return null;
  if (data.kind === 'event') {
    return hasOnly(data, ['chorus', 'kind', 'event', 'data']) && typeof data.event === 'string' && isEventData(data.event, data.data) ? (data as FrameMessage) : null;
  }
  if (data.kind === 'reply') {
    if (!hasOnly(data, ['chorus', 'kind', 'id', 'ok', 'value', 'words', 'error']) || !isCount(data.id) || typeof data.ok !== 'boolean') return null;
    if (data.value !== undefined && !isCount(data.value)) return null;
    if (data.words !== undefined && !isWords(data.words)) return null;
    if (data.error !== undefined && !isErrorData(data.error)) return null;
    return data as unknown as FrameReplyMessage;
  }
  return null;
}

/**
 * A call from the partner page, or null when malformed. Examples are only checked for structure
 * here; `validateExamples` checks them against the task's input shape and classes.
 */
export function parsePartnerMessage(data: unknown): PartnerCallMessage | null {
  if (!isObj(data) || data.chorus !== EMBED_PROTOCOL || data.kind !== 'call') return null;
  if (!hasOnly(data, ['chorus', 'kind', 'id', 'method', 'args']) || !isCount(data.id) || !isObj(data.args)) return null;
  const args = data.args;
  switch (data.method) {
    case 'addExamples':
      return hasOnly(args, ['examples']) && Array.isArray(args.examples) ? (data as unknown as PartnerCallMessage) : null;
    case 'addText':
    case 'suggest':
      return hasOnly(args, ['text']) && isStr(args.text, MAX_TEXT_CHARS) ? (data as unknown as PartnerCallMessage) : null;
    case 'pause':
    case 'resume':
    case 'forgetMe':
      return Object.keys(args).length === 0 ? (data as unknown as PartnerCallMessage) : null;
    default:
      return null;
  }
}

export interface ExampleSpec {
  readonly inputSize: number;
  readonly numClasses: number;
  /** @default MAX_EXAMPLES_PER_CALL */
  readonly maxCount?: number;
}

/**
 * Checks partner-provided examples: a non-empty list of at most `maxCount`, each with exactly
 * `inputSize` finite numbers and an integer label in [0, numClasses). Returns a plain-words problem,
 * or null when all are fine.
 */
export function findExampleProblem(examples: unknown, spec: ExampleSpec): string | null {
  const max = spec.maxCount ?? MAX_EXAMPLES_PER_CALL;
  if (!Array.isArray(examples)) return 'examples: expected an array of { input, label }';
  if (examples.length === 0) return 'examples: the list is empty';
  if (examples.length > max) return `examples: at most ${max} per call, got ${examples.length}`;
  for (let i = 0; i < examples.length; i++) {
    const e: unknown = examples[i];
    if (!isObj(e) || !hasOnly(e, ['input', 'label'])) return `examples[${i}]: expected { input, label }`;
    const input = e.input;
    if (!Array.isArray(input)) return `examples[${i}].input: expected an array of numbers`;
    if (input.length !== spec.inputSize) return `examples[${i}].input: expected ${spec.inputSize} numbers, got ${input.length}`;
    for (let j = 0; j < input.length; j++) {
      if (typeof input[j] !== 'number' || !Number.isFinite(input[j])) return `examples[${i}].input[${j}]: expected a finite number`;
    }
    const label = e.label;
    if (typeof label !== 'number' || !Number.isInteger(label) || label < 0 || label >= spec.numClasses) {
      return `examples[${i}].label: expected an integer from 0 to ${spec.numClasses - 1}, got ${String(label)}`;
    }
  }
  return null;
}
