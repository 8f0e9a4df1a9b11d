import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import {
  ChorusError,
  SecAggError,
  SecAggServer,
  maskedInputSchema,
  normalizeBinary,
  parseSecAggMessage,
  secAggShape,
  type SecAggClientMessage,
  type SecAggResult,
  type SecAggSetup,
  type SecureAggregationConfig,
} from '@chorus/core';
import type { Clock, TimerHandle } from './clock.js';
import { MaskedInputAssembler } from './masked-input-assembler.js';

/** The protocol's four stages, in order; each has its own deadline. */
export const SECURE_STAGES = ['advertise', 'share', 'mask', 'unmask'] as const;
export type SecureStage = (typeof SECURE_STAGES)[number];

/** What the server sends a participant when a stage closes: the next stage's input. */
export type SecureStageEvent = 'secagg:keys' | 'secagg:shares' | 'secagg:unmask';

export interface SecureRoundIo {
  send(participantId: string, event: SecureStageEvent, payload: unknown): void;
}

export interface SecureRoundOptions {
  readonly roundId: string;
  /** The round's roster (participant ids), in the order that gives them protocol ids 1..n. */
  readonly participantIds: readonly string[];
  readonly config: SecureAggregationConfig;
  /** Values in an update (the shared model's size). */
  readonly length: number;
  /** The norm every participant clips its update to (the round's bound). */
  readonly clipNorm: number;
  /** The largest example count an update may weigh (1 with central DP: every update weighs the same). */
  readonly maxWeight: number;
  /** Central DP: participants keep even the rounded input within clipNorm (the noise's sensitivity). @default false */
  readonly strictClip?: boolean;
  readonly clock: Clock;
  readonly log: Logger;
  readonly io: SecureRoundIo;
  /** The masked-input stage waits for local training: its own deadline. @default config.stageDeadlineMs */
  readonly maskDeadlineMs?: number;
}

const NEXT_EVENT: Record<Exclude<SecureStage, 'unmask'>, SecureStageEvent> = { advertise: 'secagg:keys', share: 'secagg:shares', mask: 'secagg:unmask' };

/**
 * One secure round on the server: the SecAgg+ state machine from core, driven by stage deadlines.
 * A stage closes when everyone expected has answered or its deadline passes; those who did not
 * answer are dropouts the protocol recovers from (or the round is abandoned below the threshold).
 *
 * It keeps no individual update: masked inputs go straight into one running ring sum, and its log
 * lines carry counts only.
 */
export class SecureRound {
  private stageNow: SecureStage | 'done' | 'abandoned' = 'advertise';
  private readonly protocolIds = new Map<string, number>();
  private readonly participantOf = new Map<number, string>();
  private expected = new Set<number>();
  /** Participants that left: no later stage waits for them. */
  private readonly gone = new Set<number>();
  private answered = 0;
  private timer: TimerHandle | null = null;
  /** Masked inputs arriving in parts (a model larger than one message), until each is whole. */
  private maskedParts: MaskedInputAssembler | null = null;
  private settle!: { resolve: (r: SecAggResult) => void; reject: (e: SecAggError) => void };
  /** Resolves with the unmasked weighted mean, or rejects (SecAggError) when the round is abandoned. */
  readonly result: Promise<SecAggResult>;

  private constructor(
    private readonly server: SecAggServer,
    private readonly options: SecureRoundOptions,
  ) {
    this.result = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    // The engine awaits `result`; an abandoned round must not also be an unhandled rejection.
    this.result.catch(() => undefined);
    options.participantIds.forEach((p, i) => {
      this.protocolIds.set(p, i + 1);
      this.participantOf.set(i + 1, p);
      this.expected.add(i + 1);
    });
    this.armDeadline();
  }

  static async open(options: SecureRoundOptions): Promise<SecureRound> {
    const { config, participantIds } = options;
    const server = await SecAggServer.create({
      roundId: options.roundId,
      participants: participantIds.length,
      neighbours: config.neighbours,
      // A round smaller than the neighbourhood gives each participant n − 1 neighbours.
      threshold: Math.min(config.threshold, participantIds.length - 1),
      seed: new Uint8Array(randomBytes(32)),
      length: options.length,
      quantizationBits: config.quantizationBits,
      clipNorm: options.clipNorm,
      maxWeight: options.maxWeight,
      strictClip: options.strictClip ?? false,
    });
    return new SecureRound(server, options);
  }

  get stage(): SecureStage | 'done' | 'abandoned' {
    return this.stageNow;
  }

  /** The parameters every participant needs (sent with the invitation). */
  get setup(): SecAggSetup {
    return this.server.shape.setup;
  }

  /** Bits per coordinate on the wire. */
  get ringBits(): number {
    return this.server.shape.ringBits;
  }

  /** A participant's protocol id; UNKNOWN_ID for one not on the roster. */
  idOf(participantId: string): number {
    const id = this.protocolIds.get(participantId);
    if (id === undefined) throw new SecAggError('UNKNOWN_ID', 'this participant is not in the secure round');
    return id;
  }

  /**
   * A participant's message for `stage`. It must speak for itself (its `id` is its own) and come
   * in its stage; a refusal is a typed error for that participant only, the round goes on.
   */
  receive(participantId: string, stage: SecureStage, message: unknown): void {
    const id = this.idOf(participantId);
    if (this.stageNow !== stage) throw new SecAggError('WRONG_STAGE', `a "${stage}" message arrived while the round is at "${this.stageNow}"`);
    const claimed = (message as { id?: unknown } | null)?.id;
    if (claimed !== id) throw new SecAggError('UNKNOWN_ID', 'a message must carry its sender\'s own protocol id');
    if (!this.expected.has(id)) throw new SecAggError('REPLAYED', 'no message is expected from this participant in this stage');
    switch (stage) {
      case 'advertise':
        this.server.receiveAdvertise(message);
        break;
      case 'share':
        this.server.receiveShares(message);
        break;
      case 'mask':
        this.server.receiveMasked(message);
        break;
      case 'unmask':
        this.server.receiveUnmasking(message);
        break;
    }
    this.expected.delete(id);
    this.answered += 1;
    if (this.expected.size === 0) void this.closeStage('everyone answered');
  }

  /**
   * A participant's `secagg:message` as it came off the wire: a stage's message, or one part of a
   * masked input too large for one message (assembled here until whole; a refused part drops only
   * that participant's partial input). Returns the masked-input bytes it carried, for the round's
   * upload count. Refusals are typed errors for that participant only.
   */
  take(participantId: string, req: Pick<SecAggClientMessage, 'stage' | 'message' | 'chunk'>): number {
    const message = normalizeBinary(req.message);
    if (!req.chunk) {
      this.receive(participantId, req.stage, message);
      return req.stage === 'mask' ? ((message as { masked?: Uint8Array } | null)?.masked?.byteLength ?? 0) : 0;
    }
    const part = parseSecAggMessage(maskedInputSchema, message, 'secagg:masked-input part');
    if (part.id !== this.idOf(participantId)) throw new SecAggError('UNKNOWN_ID', 'a message must carry its sender\'s own protocol id');
    if (this.stageNow !== 'mask') throw new SecAggError('WRONG_STAGE', `a masked-input part arrived while the round is at "${this.stageNow}"`);
    this.maskedParts ??= new MaskedInputAssembler(secAggShape(this.setup).maskedBytes);
    const whole = this.maskedParts.add(participantId, req.chunk, part.masked);
    if (whole) this.receive(participantId, 'mask', { id: part.id, masked: whole });
    return part.masked.byteLength;
  }

  /** A participant left (closed its tab): the stage need not wait for it. */
  leave(participantId: string): void {
    const id = this.protocolIds.get(participantId);
    if (id === undefined) return;
    this.maskedParts?.drop(participantId);
    this.gone.add(id);
    if (!this.expected.delete(id)) return;
    if (this.expected.size === 0 && (this.stageNow === 'advertise' || this.stageNow === 'share' || this.stageNow === 'mask' || this.stageNow === 'unmask')) void this.closeStage('the others left');
  }

  /** Ends the round without a result (the task paused, the server shuts down). */
  cancel(reason: string): void {
    if (this.stageNow === 'done' || this.stageNow === 'abandoned') return;
    this.clearDeadline();
    this.stageNow = 'abandoned';
    this.settle.reject(new SecAggError('WRONG_STAGE', reason));
  }

  /** The participant id behind a protocol id. */
  participantIdOf(id: number): string | undefined {
    return this.participantOf.get(id);
  }

  private armDeadline(): void {
    this.clearDeadline();
    const ms = this.stageNow === 'mask' ? (this.options.maskDeadlineMs ?? this.options.config.stageDeadlineMs) : this.options.config.stageDeadlineMs;
    this.timer = this.options.clock.setTimer(() => {
      this.timer = null;
      void this.closeStage('deadline');
    }, ms);
  }

  private clearDeadline(): void {
    if (this.timer) this.options.clock.clearTimer(this.timer);
    this.timer = null;
  }

  private async closeStage(cause: string): Promise<void> {
    const stage = this.stageNow;
    if (stage === 'done' || stage === 'abandoned') return;
    this.clearDeadline();
    this.options.log.info({ roundId: this.options.roundId, stage, answered: this.answered, missing: this.expected.size, cause }, 'secure aggregation stage closed');
    try {
      if (stage === 'unmask') {
        this.stageNow = 'done';
        const result = await this.server.finish();
        this.options.log.info({ roundId: this.options.roundId, included: result.included.length, ...result.report }, 'secure aggregation unmasked the sum');
        this.settle.resolve(result);
        return;
      }
      const next = stage === 'advertise' ? this.server.closeAdvertise() : stage === 'share' ? this.server.closeShares() : this.server.closeMasked();
      this.stageNow = SECURE_STAGES[SECURE_STAGES.indexOf(stage) + 1]!;
      this.expected = new Set([...next.keys()].filter((id) => !this.gone.has(id)));
      this.answered = 0;
      for (const [id, payload] of next) if (!this.gone.has(id)) this.options.io.send(this.participantOf.get(id)!, NEXT_EVENT[stage], payload);
      this.armDeadline();
      if (this.expected.size === 0) void this.closeStage('nobody left to wait for');
    } catch (err) {
      this.stageNow = 'abandoned';
      const e = err instanceof SecAggError ? err : new SecAggError('BELOW_THRESHOLD', ChorusError.from(err).message, { cause: err });
      this.options.log.warn({ roundId: this.options.roundId, stage, reason: e.reason, message: e.message }, 'secure aggregation round abandoned');
      this.settle.reject(e);
    }
  }
}
