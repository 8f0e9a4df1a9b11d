import type { CodecId } from '../codecs/codec.js';
import type { ErrorCode } from '../errors/chorus-error.js';
import type { TensorSpec } from '../weights/layout.js';

/**
 * A validated, still-encoded client update (the delta from the global model it trained on).
 * Streaming aggregators fold it straight from its encoded bytes; buffering ones decode it.
 */
export interface EncodedUpdate {
  readonly codec: CodecId;
  readonly layout: readonly TensorSpec[];
  /** Number of float values. */
  readonly length: number;
  /** Size on the wire, header included. */
  readonly byteLength: number;
  decode(out?: Float32Array): Float32Array;
  foldInto(target: Float32Array, weight: number): void;
  l2Norm(): number;
}

export interface ClientUpdate {
  readonly participantId: string;
  readonly numExamples: number;
  readonly update: EncodedUpdate;
  /** What the client reported about its local training (loss, accuracy, trainMs, …). */
  readonly metrics: Readonly<Record<string, number>>;
  /**
   * Set when this is not one client's update but the unweighted mean of `meanOf` updates, each
   * clipped by its own participant to the round's DP clip norm: the unmasked sum of a secure round
   * with central DP. DP counts it as that many clipped updates and does not clip it again.
   */
  readonly meanOf?: number;
  /**
   * A weight in (0, 1] the update is multiplied by after any clipping (FedBuff's staleness weight
   * s(τ)): norm bounding and DP clip the update as sent, then scale it, so DP's sensitivity stays the
   * clip norm. Strategies built by createComposedStrategy apply it; absent means 1.
   */
  readonly scale?: number;
}

/** A client that was selected but produced no usable update. Failures are data, not exceptions. */
export interface ClientFailure {
  readonly participantId: string;
  readonly code: ErrorCode | 'DISCONNECTED' | 'DEADLINE' | 'DECLINED';
  readonly reason: string;
}

export interface RoundContext {
  readonly round: number;
  /** The global model version the clients trained on. */
  readonly version: number;
  readonly layout: readonly TensorSpec[];
  /** Flat global weights (read-only for aggregators). */
  readonly global: Float32Array;
  /** Clients asked to train this round (after over-selection) and the population they came from. */
  readonly selected: number;
  readonly population: number;
}

/** What happened to one update inside the aggregator; shows in the round's receipts. */
export type AddOutcome =
  | { readonly status: 'accepted'; readonly note?: string }
  | { readonly status: 'rejected'; readonly code: ErrorCode; readonly reason: string };

export interface AggregateResult {
  /** The combined delta to apply to the global model (same length as the model). */
  readonly delta: Float32Array;
  readonly metrics: Readonly<Record<string, number>>;
  /** Per-client notes decided only at the end (e.g. "discarded by Krum"). */
  readonly notes?: ReadonlyMap<string, string>;
}

/** Collects one round's updates. Streaming ones keep O(model) memory whatever the client count. */
export interface RoundAggregator {
  readonly streaming: boolean;
  add(update: ClientUpdate): AddOutcome;
  /** null = nothing to aggregate: the global model stays as it is. */
  finish(failures: readonly ClientFailure[]): AggregateResult | null;
}

/** Hyper-parameters a strategy adds to or overrides in the clients' training config for a round. */
export type FitOverrides = Readonly<Record<string, number | string | boolean>>;

/**
 * Flower-style strategy: configure the round, aggregate results (failures separately), then a
 * server-side step turns the aggregated delta into the next global model.
 */
export interface Strategy {
  readonly id: string;
  configureFit(round: number): FitOverrides;
  beginRound(ctx: RoundContext): RoundAggregator;
  /** Returns the next global model; must not modify `global` in place. */
  applyAggregate(global: Float32Array, result: AggregateResult, round: number): Float32Array;
  /** Server-optimizer state (momentum, moments) to checkpoint with each version; null when stateless. */
  exportState(): Uint8Array | null;
  importState(state: Uint8Array): void;
}
