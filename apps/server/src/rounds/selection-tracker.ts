import type { Logger } from 'pino';
import type { Capabilities, EncodedUpdate, SelectionConfig } from '@chorus/core';
import type { ParticipantHistory, SelectionReason } from '../storage/selection-records.js';
import type { Storage } from '../storage/storage.js';
import { createSelector, type Selection, type SelectionCandidate, type Selector } from './client-selection.js';
import { updateSignature } from './update-signature.js';

const fresh = (participantId: string): ParticipantHistory => ({ participantId, invited: 0, completed: 0, dropped: 0, lastLoss: null, lastExamples: 0, lastDurationMs: null, lastRound: 0, signature: null });

/**
 * One task's client selection: its policy's selector and what it remembers of each participant
 * (invited, completed, dropped, last loss and round time). The task runner tells it what happened;
 * changed rows are written through the storage when it has a place for them (keyed by the
 * pseudonymous participant id only).
 */
export class SelectionTracker {
  readonly policy: string;
  private readonly selector: Selector;
  private readonly history = new Map<string, ParticipantHistory>();
  private readonly dirty = new Set<string>();
  /** The selector's state as last stored (JSON), so an unchanged ε is not written again. */
  private savedState: string | null = null;
  private hasSelected = false;

  constructor(
    private readonly taskId: string,
    config: SelectionConfig | undefined,
    private readonly storage: Storage,
    private readonly log: Logger,
  ) {
    this.policy = config?.id ?? 'uniform';
    this.selector = createSelector(config);
  }

  /** Reads the stored history and the selector's state (Oort's ε); rows already touched in memory win (they are newer). */
  async load(): Promise<void> {
    const rows = (await this.storage.loadParticipantHistory?.(this.taskId)) ?? [];
    for (const row of rows) if (!this.history.has(row.participantId)) this.history.set(row.participantId, { ...row });
    const state = await this.storage.loadSelectorState?.(this.taskId);
    // Like the rows: a selector that already picked in this process is newer than what was stored.
    if (state != null && this.selector.importState && !this.hasSelected) {
      this.selector.importState(state);
      this.savedState = JSON.stringify(state);
    }
  }

  private entry(participantId: string): ParticipantHistory {
    let h = this.history.get(participantId);
    if (!h) {
      h = fresh(participantId);
      this.history.set(participantId, h);
    }
    this.dirty.add(participantId);
    return h;
  }

  /** Picks `count` of the candidates and counts them invited to `round`. */
  select<T extends SelectionCandidate>(candidates: readonly T[], count: number, round: number, context: { random: () => number; deadlineMs: number; examplesPerRound: (c: T) => number }): Selection<T> {
    this.hasSelected = true;
    const selection = this.selector.select({ candidates, count, round, history: this.history, ...context });
    for (const c of selection.picked) this.invited(c.participantId, round);
    return selection;
  }

  invited(participantId: string, round: number): void {
    const h = this.entry(participantId);
    h.invited += 1;
    h.lastRound = round;
  }

  /**
   * An accepted update: its reported loss and examples are its statistical utility, the time it took
   * its system one, its signature (`signatureOf`, or what the process that received it computed) what it covers.
   */
  completed(participantId: string, numExamples: number, metrics: Readonly<Record<string, number>>, durationMs: number, signature: readonly number[] | null = null): void {
    const h = this.entry(participantId);
    if (signature && this.usesSignatures) h.signature = [...signature];
    h.completed += 1;
    h.lastExamples = numExamples;
    const loss = metrics.loss;
    // A hostile client may report any loss: only a finite, bounded one counts.
    if (typeof loss === 'number' && Number.isFinite(loss) && loss >= 0) h.lastLoss = Math.min(loss, 1e6);
    h.lastDurationMs = Math.max(0, durationMs);
  }

  /** Whether the policy ranks by coverage (Oort's `diversity`): only then is an update's signature computed and kept. */
  get usesSignatures(): boolean {
    return this.selector.usesSignatures === true;
  }

  /** The update's coverage signature when the policy uses them, else null (nothing is computed or kept). */
  signatureOf(update: EncodedUpdate): number[] | null {
    return this.usesSignatures ? updateSignature(update) : null;
  }

  /** The invitation came to nothing (left, declined, refused, missed the deadline). */
  dropped(participantId: string, workedMs: number): void {
    const h = this.entry(participantId);
    h.dropped += 1;
    this.slowAtLeast(h, workedMs);
  }

  /** The round closed at its target while this one was still working: not a failure, but at least this slow. */
  late(participantId: string, workedMs: number): void {
    this.slowAtLeast(this.entry(participantId), workedMs);
  }

  private slowAtLeast(h: ParticipantHistory, workedMs: number): void {
    if (h.lastDurationMs === null || h.lastDurationMs < workedMs) h.lastDurationMs = Math.max(0, workedMs);
  }

  /** A copy of what it knows of a participant. */
  get(participantId: string): Readonly<ParticipantHistory> | undefined {
    const h = this.history.get(participantId);
    return h ? { ...h } : undefined;
  }

  /**
   * Writes the changed rows, the selector's state when it changed, and the round's picks — replacing
   * the round's record, or with `add` merged into it (an asynchronous buffer picks at every
   * dispatch). Failures are logged, selection goes on from memory.
   */
  async persist(round?: { round: number; reasons: readonly SelectionReason[]; add?: boolean }): Promise<void> {
    const rows = [...this.dirty].map((id) => ({ ...this.history.get(id)! }));
    this.dirty.clear();
    const exported = this.selector.exportState?.();
    const state = exported === undefined ? null : JSON.stringify(exported);
    try {
      if (rows.length > 0) await this.storage.saveParticipantHistory?.(this.taskId, rows);
      if (state !== null && state !== this.savedState && this.storage.saveSelectorState) {
        await this.storage.saveSelectorState(this.taskId, exported);
        this.savedState = state;
      }
      if (round) {
        const record = { policy: this.policy, reasons: [...round.reasons] };
        if (round.add) await this.storage.addRoundSelection?.(this.taskId, round.round, record);
        else await this.storage.saveRoundSelection?.(this.taskId, round.round, record);
      }
    } catch (err) {
      this.log.error({ err }, 'could not store the selection history');
    }
  }
}

/** Examples a participant trains on per round: its declared count, capped by training.maxExamples, times the epochs. */
export function examplesPerRound(capabilities: Capabilities, training: { readonly maxExamples: number; readonly localEpochs: number }): number {
  const n = training.maxExamples > 0 ? Math.min(capabilities.numExamples, training.maxExamples) : capabilities.numExamples;
  return n * training.localEpochs;
}
