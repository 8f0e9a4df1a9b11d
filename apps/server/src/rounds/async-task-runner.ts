import type { Logger } from 'pino';
import {
  ChorusError,
  asyncConfigSchema,
  roundCodecSeed,
  stalenessWeight,
  updateLimitsSchema,
  updateNormBound,
  type AsyncConfig,
  type Capabilities,
  type EncodedUpdate,
  type RoundInvite,
  type SecAggClientMessage,
  type SecAggResult,
  type Strategy,
  type TaskConfig,
  type TaskStatus,
  type UpdateLimits,
  type UpdateReceipt,
} from '@chorus/core';
import type { StoredTask } from '../storage/storage.js';
import { SecureCohorts, type Cohort } from './async-secure-cohorts.js';
import { centralDp } from './central-dp.js';
import { isEligible } from './client-selection.js';
import type { Clock, TimerHandle } from './clock.js';
import type { EngineDeps } from './engine-deps.js';
import { OpenRound } from './open-round.js';
import { RoundCloser, type RoundCloserHost } from './round-closer.js';
import { InviteDownloadChecks } from './download-checks.js';
import type { RoundCommitted, RoundOutcome } from './round-outcome.js';
import { SelectionTracker, examplesPerRound } from './selection-tracker.js';
import type { Member, RunnerHooks, UpdateSubmission } from './task-runner.js';
import { secureAggregate, secureReceiptNote } from './task-secure-round.js';
import { buildTaskSummary, type RoundPhase, type TaskSummary } from './task-summary.js';

/** One participant's piece of work: it trains on `version` and owes an update under `roundId`. */
interface Assignment {
  readonly participantId: string;
  connectionId: string;
  readonly roundId: string;
  readonly version: number;
  readonly startedAt: number;
  readonly maxUpdateNorm: number | undefined;
  timer: TimerHandle | null;
}

/**
 * A contribution to the buffer: one participant's validated update, or a secure cohort's unmasked
 * sum. One that arrives while a flush is aggregating waits here and is folded into the next buffer.
 */
type Held = HeldUpdate | HeldCohort;

interface HeldUpdate {
  readonly kind: 'update';
  readonly participantId: string;
  readonly sub: UpdateSubmission;
  readonly update: EncodedUpdate;
  readonly bytes: number;
  readonly l2Norm: number;
  readonly startedAt: number;
}

interface HeldCohort {
  readonly kind: 'cohort';
  readonly cohort: Cohort;
  readonly result: SecAggResult;
  readonly survivors: readonly string[];
}

/**
 * A task in 'async' mode (FedBuff, Nguyen et al. 2022). There are no rounds to wait for: whenever a
 * connected participant is free (and fewer than `concurrency` are working), it is invited to train
 * on the latest version. Its update is folded into the open buffer weighted by its staleness s(τ),
 * τ = versions published since the one it trained on; one more than `maxStaleness` behind is refused
 * with STALE_UPDATE. Every `bufferSize` accepted updates the buffer is closed like a round — the
 * strategy's server step (FedAvgM, FedAdam, DP: one accountant step), checkpoint, evaluation,
 * broadcast — and the next buffer opens. Participants still training keep working: their updates
 * land in a later buffer. Updates arriving while a buffer is being aggregated are validated and held
 * for the next one. A buffer that has not filled by `rounds.deadlineMs` is flushed if it holds
 * `rounds.minClients` updates.
 *
 * With secure aggregation, participants are invited in cohorts of `bufferSize` (SecureCohorts):
 * each cohort is one SecAgg+ round on one version, cohorts overlap in time, and an unmasked cohort
 * enters the buffer as one entry worth its survivors' updates, weighted by the cohort's staleness.
 *
 * With central DP a participant contributes at most once to a buffer (the accountant's step
 * assumes one clipped update per participant): it is not invited again until the buffer flushes.
 *
 * The single owner of the task's state, like TaskRunner: the closer hands it outcomes via `apply`.
 */
export class AsyncTaskRunner implements RoundCloserHost {
  private status: TaskStatus;
  private phase: RoundPhase = 'idle';
  private buffer: OpenRound | null = null;
  private readonly members = new Map<string, Member>();
  private readonly working = new Map<string, Assignment>();
  private held: Held[] = [];
  /** Secure aggregation: the cohorts in flight (null without it). */
  private readonly cohorts: SecureCohorts | null;
  /** Participants whose update (or cohort sum) is in the open buffer or held for the next one. */
  private readonly contributors = new Set<string>();
  /** The strategy adds central DP noise (the task's options never change). */
  private readonly centralDp: boolean;
  private bufferTimer: TimerHandle | null = null;
  private retryTimer: TimerHandle | null = null;
  private dispatchTimer: TimerHandle | null = null;
  private assignments = 0;
  private shuttingDown = false;
  private readonly closer: RoundCloser;
  readonly clock: Clock;
  readonly log: Logger;
  readonly limits: UpdateLimits;
  readonly options: AsyncConfig;
  readonly selection: SelectionTracker;
  /** What invites carry for differential downloads. */
  private readonly downloadChecks: InviteDownloadChecks;

  constructor(
    private stored: StoredTask,
    private global: Float32Array,
    private version: number,
    private lastRound: number,
    readonly strategy: Strategy,
    readonly deps: EngineDeps,
    private readonly hooks: RunnerHooks,
  ) {
    this.status = stored.status;
    this.clock = deps.clock!;
    this.log = deps.logger.child({ taskId: stored.id, mode: 'async' });
    this.closer = new RoundCloser(this);
    this.limits = updateLimitsSchema.parse(stored.config.limits ?? {});
    this.options = asyncConfigSchema.parse(stored.config.async ?? {});
    this.selection = new SelectionTracker(stored.id, stored.config.selection, deps.storage, this.log);
    this.downloadChecks = new InviteDownloadChecks(deps, this.log);
    // A passive mirror never selects: the participant history is loaded only where rounds run.
    if (!hooks.passive) this.closer.track(() => this.selection.load());
    this.centralDp = centralDp(stored.config) !== undefined;
    this.cohorts = stored.config.secureAggregation
      ? new SecureCohorts({
          clock: this.clock,
          log: this.log,
          transport: deps.transport,
          taskId: stored.id,
          config: () => this.config,
          limits: this.limits,
          connectionIn: (roundId, participantId) => {
            const a = this.working.get(participantId);
            return a?.roundId === roundId ? a.connectionId : undefined;
          },
          unmasked: (cohort, result, survivors) => this.cohortUnmasked(cohort, result, survivors),
          abandoned: (cohort, reason) => this.cohortAbandoned(cohort, reason),
        })
      : null;
  }

  private get concurrency(): number {
    return this.options.concurrency ?? 2 * this.options.bufferSize;
  }

  // ---- the read model ----

  task(): StoredTask {
    return this.stored;
  }

  get config(): TaskConfig {
    return this.stored.config;
  }

  taskStatus(): TaskStatus {
    return this.status;
  }

  latestVersion(): number {
    return this.version;
  }

  model(): { readonly version: number; readonly global: Float32Array } {
    return { version: this.version, global: this.global };
  }

  /** The lease's fencing token that commits carry (several processes); undefined on one process. */
  get fence(): number | undefined {
    return this.hooks.fence;
  }

  globalWeights(): Float32Array {
    return this.global.slice();
  }

  summary(): TaskSummary {
    const b = this.buffer;
    const state = { status: this.status, phase: this.phase, version: this.version, lastRound: this.lastRound };
    return buildTaskSummary(this.stored, { ...state, currentRound: b ? { round: b.round, roundId: b.roundId, version: b.version, selected: this.working.size, accepted: b.accepted, startedAt: b.startedAt, deadline: b.invite.deadline } : null }, this.members.values());
  }


  holdsConnection(connectionId: string): boolean {
    for (const a of this.working.values()) if (a.connectionId === connectionId) return true;
    return false;
  }

  /** Who the task's members are and on which connection (several processes: the coordinator reconciles them with the presence registry). */
  memberConnections(): { participantId: string; connectionId: string }[] {
    return [...this.members.values()].map((m) => ({ participantId: m.participantId, connectionId: m.connectionId }));
  }

  member(participantId: string): Readonly<Member> | undefined {
    const m = this.members.get(participantId);
    return m ? { ...m } : undefined;
  }

  /** Whether the participant is a member (without member()'s copy: asked for thousands at a time). */
  hasMember(participantId: string): boolean {
    return this.members.has(participantId);
  }

  maxPayloadBytes(): number {
    return this.deps.payload.maxBytes(this.stored.layout, this.config.codec);
  }

  // ---- status ----

  private async setStatus(status: TaskStatus): Promise<void> {
    this.status = status;
    this.stored = { ...this.stored, status };
    await this.deps.storage.setTaskStatus(this.stored.id, status, this.clock.now());
    this.hooks.onChanged?.();
    this.deps.transport.broadcast(this.stored.id, 'task:status', { taskId: this.stored.id, status });
    this.log.info({ status }, 'task status');
  }

  async start(): Promise<void> {
    if (this.status === 'completed') throw new ChorusError('TASK_NOT_RUNNING', `task "${this.stored.id}" is completed: it reached its ${this.config.rounds.maxRounds} versions`);
    if (this.status !== 'running') await this.setStatus('running');
    this.enterWaiting();
  }

  async halt(status: 'paused' | 'stopped'): Promise<void> {
    if (status === 'paused' && this.status !== 'running') throw new ChorusError('TASK_NOT_RUNNING', `task "${this.stored.id}" is ${this.status}, not running: only a running task can be paused`);
    await this.stopWork(`task ${status} by the operator`);
    if (this.phase !== 'aggregating') this.phase = 'idle';
    await this.setStatus(status);
  }

  async resume(): Promise<void> {
    if (this.status !== 'paused') throw new ChorusError('TASK_NOT_RUNNING', `task "${this.stored.id}" is ${this.status}, not paused: only a paused task can be resumed`);
    await this.setStatus('running');
    this.enterWaiting();
  }

  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    await this.stopWork('server shutdown');
  }

  /** Cancels every assignment and abandons the open buffer (its updates are not applied). */
  private async stopWork(reason: string): Promise<void> {
    this.clearTimers();
    this.cohorts?.cancelAll(reason);
    for (const a of [...this.working.values()]) {
      this.endAssignment(a);
      this.deps.transport.send(a.connectionId, 'round:cancel', { taskId: this.stored.id, roundId: a.roundId, reason });
    }
    this.held = [];
    this.contributors.clear();
    const b = this.buffer;
    if (this.phase === 'collecting' && b) {
      this.phase = 'aggregating';
      await this.closer.abandon(b, reason, false);
    }
  }

  private clearTimers(): void {
    for (const t of [this.bufferTimer, this.retryTimer, this.dispatchTimer]) if (t) this.clock.clearTimer(t);
    this.bufferTimer = this.retryTimer = this.dispatchTimer = null;
  }

  enterWaiting(): void {
    if (this.hooks.passive || this.shuttingDown || this.status !== 'running' || this.phase === 'collecting' || this.phase === 'aggregating') return;
    this.openBuffer();
  }

  /** A participant freed up or joined: invite the free ones (the engine calls this after any round closes). */
  maybeStartRound(): void {
    if (this.phase === 'collecting') this.dispatch();
    else if (this.phase === 'waiting-for-clients' && !this.retryTimer) this.openBuffer();
  }

  // ---- buffers ----

  private openBuffer(): void {
    if (this.hooks.passive || this.shuttingDown || this.status !== 'running') return;
    const round = this.lastRound + 1;
    const now = this.clock.now();
    let aggregator: ReturnType<Strategy['beginRound']>;
    let overrides: ReturnType<Strategy['configureFit']>;
    try {
      overrides = this.strategy.configureFit(round);
      aggregator = this.strategy.beginRound({ round, version: this.version, layout: this.stored.layout, global: this.global, selected: this.options.bufferSize, population: Math.max(this.members.size, this.options.bufferSize) });
    } catch (err) {
      if (!(err instanceof ChorusError) || err.code !== 'BUDGET_EXHAUSTED') {
        this.log.error({ err, round }, 'the strategy could not open a buffer; retrying later');
        this.retryLater();
        return;
      }
      this.phase = 'idle';
      this.log.warn({ round, reason: err.message }, 'privacy budget spent: task completed');
      void this.setStatus('completed').catch((e: unknown) => this.log.error({ err: e }, 'status write failed'));
      return;
    }
    this.lastRound = round;
    const invite: RoundInvite = {
      taskId: this.stored.id,
      roundId: `${this.stored.id}-r${round}`,
      round,
      version: this.version,
      deadline: now + this.config.rounds.deadlineMs,
      training: { ...this.config.training, overrides: { ...overrides } },
      codec: this.config.codec,
      maxUpdateNorm: updateNormBound(this.limits, this.global, this.config.privacy?.localDp),
      ...this.downloadChecks.of(this.stored, this.version, this.global),
    };
    this.buffer = new OpenRound(this.stored.id, round, invite.roundId, this.version, now, invite, aggregator, []);
    this.phase = 'collecting';
    this.closer.track(() => this.deps.storage.openRound({ taskId: this.stored.id, round, roundId: invite.roundId, version: this.version, startedAt: now, selected: 0 }));
    this.armBufferTimer();
    const held = this.held;
    this.held = [];
    this.contributors.clear();
    for (const h of held) this.fold(h);
    if (this.phase === 'collecting') this.dispatch();
  }

  private armBufferTimer(): void {
    if (this.bufferTimer) this.clock.clearTimer(this.bufferTimer);
    this.bufferTimer = this.clock.setTimer(() => {
      this.bufferTimer = null;
      const b = this.buffer;
      if (this.phase !== 'collecting' || !b) return;
      if (b.accepted >= Math.max(1, this.config.rounds.minClients)) this.flush();
      else this.armBufferTimer();
    }, this.config.rounds.deadlineMs);
  }

  private retryLater(delayMs = this.deps.roundRetryDelayMs ?? 2000): void {
    if (this.shuttingDown) return;
    this.phase = 'waiting-for-clients';
    if (this.retryTimer) this.clock.clearTimer(this.retryTimer);
    this.retryTimer = this.clock.setTimer(() => {
      this.retryTimer = null;
      this.openBuffer();
    }, delayMs);
  }

  /** The buffer holds K updates (or its deadline passed): the closer takes the server step. */
  private flush(): void {
    const b = this.buffer;
    if (this.phase !== 'collecting' || !b) return;
    this.phase = 'aggregating';
    if (this.bufferTimer) this.clock.clearTimer(this.bufferTimer);
    this.bufferTimer = null;
    this.closer.track(() => this.selection.persist());
    void this.closer.close(b, 'target');
  }

  roundClosed(): void {
    this.hooks.onRoundClosed();
  }

  apply(outcome: RoundOutcome): void {
    switch (outcome.kind) {
      case 'committed':
        if (outcome.late && this.version !== outcome.version - 1) {
          this.log.error({ version: outcome.version, current: this.version }, 'a late checkpoint landed out of order: restart the server to reload the latest version');
          return;
        }
        this.global = outcome.global;
        this.version = outcome.version;
        if (this.buffer?.round === outcome.round) this.buffer = null;
        this.hooks.onChanged?.();
        return;
      case 'abandoned':
        if (this.buffer?.round === outcome.round) this.buffer = null;
        if (this.phase === 'aggregating') this.phase = 'idle';
        if (outcome.retry && this.status === 'running') this.retryLater();
        return;
    }
  }

  async published(o: RoundCommitted): Promise<void> {
    this.phase = 'idle';
    const maxRounds = this.config.rounds.maxRounds;
    if (maxRounds > 0 && o.version >= maxRounds && this.status === 'running') {
      await this.stopWork('the task reached its last version');
      try {
        await this.setStatus('completed');
      } catch (err) {
        this.log.error({ err, version: o.version }, 'could not mark the task completed');
      }
      return;
    }
    this.enterWaiting();
  }

  // ---- assignments ----

  private eligibleFree(): Member[] {
    // Central DP: two updates of one participant in one buffer would move it by 2·C while the
    // accountant's step assumes C, so a contributor waits for the flush (its update is not wasted).
    const once = this.centralDp ? this.contributors : null;
    return [...this.members.values()].filter((m) => !this.working.has(m.participantId) && !once?.has(m.participantId) && isEligible(m.capabilities, this.config.rounds) && !this.hooks.isBusyElsewhere(m.connectionId, this.stored.id));
  }

  /** Invites free participants, up to `concurrency` at work, chosen by the task's selection policy. */
  private dispatch(): void {
    const b = this.buffer;
    if (this.hooks.passive || this.shuttingDown || this.status !== 'running' || this.phase !== 'collecting' || !b) return;
    const room = this.concurrency - this.working.size;
    if (room <= 0) return;
    const free = this.eligibleFree();
    if (free.length === 0) return;
    // Secure aggregation invites whole cohorts of bufferSize, one per pass (see startCohort).
    const cohort = this.cohorts ? this.options.bufferSize : 0;
    if (room < cohort || free.length < cohort) return;
    const { picked, reasons } = this.selection.select(free, cohort || Math.min(room, free.length), b.round, {
      random: this.deps.random ?? Math.random,
      deadlineMs: this.config.rounds.deadlineMs,
      examplesPerRound: (m) => examplesPerRound(m.capabilities, this.config.training),
    });
    if (picked.length < cohort) return;
    const now = this.clock.now();
    if (cohort > 0) this.startCohort(b, picked, now);
    else for (const m of picked) {
      const roundId = `${b.roundId}-a${++this.assignments}`;
      const a: Assignment = { participantId: m.participantId, connectionId: m.connectionId, roundId, version: this.version, startedAt: now, maxUpdateNorm: b.invite.maxUpdateNorm, timer: null };
      a.timer = this.clock.setTimer(() => this.expire(a), this.config.rounds.deadlineMs);
      this.working.set(m.participantId, a);
      this.deps.transport.send(m.connectionId, 'round:invite', this.inviteFor(b, roundId, this.version, now + this.config.rounds.deadlineMs));
    }
    // Added to the buffer's record: every dispatch picks, and the console shows all of the buffer's picks.
    this.closer.track(() => this.selection.persist({ round: b.round, reasons, add: true }));
    // Room for another cohort while this one is in flight: cohorts overlap.
    if (cohort > 0) this.dispatch();
  }

  /**
   * The buffer's invitation for one assignment on `version`. Its download checks (hash and sketch,
   * what a participant applying differences verifies its weights against) must be that version's:
   * the current version's are computed once per version; an older assignment's invitation sent again
   * carries none, and the participant downloads that version whole rather than trust a mismatch.
   */
  private inviteFor(b: OpenRound, roundId: string, version: number, deadline: number): RoundInvite {
    const invite: RoundInvite = { ...b.invite, roundId, version, deadline };
    if (version === this.version) return { ...invite, ...this.downloadChecks.of(this.stored, version, this.global) };
    const { weightsHash: _hash, weightsSketch: _sketch, ...rest } = invite;
    return rest;
  }

  /**
   * One secure cohort: its members are at work under the cohort's round id (they count against
   * `concurrency`) until it unmasks or is abandoned; they get their invitation, with their protocol
   * id, once its protocol is open.
   */
  private startCohort(b: OpenRound, picked: readonly Member[], now: number): void {
    const roundId = `${b.roundId}-c${++this.assignments}`;
    const invite = this.inviteFor(b, roundId, this.version, now + this.config.rounds.deadlineMs);
    for (const m of picked) this.working.set(m.participantId, { participantId: m.participantId, connectionId: m.connectionId, roundId, version: this.version, startedAt: now, maxUpdateNorm: invite.maxUpdateNorm, timer: null });
    this.cohorts!.start(invite, picked, { bound: invite.maxUpdateNorm ?? updateNormBound(this.limits, this.global), length: this.global.length });
  }

  /** The cohort's sum is known: its members are free again, and the sum goes to the buffer (or waits for the next one). */
  private cohortUnmasked(cohort: Cohort, result: SecAggResult, survivors: readonly string[]): void {
    const now = this.clock.now();
    const included = new Set(survivors);
    for (const p of cohort.members) {
      const a = this.working.get(p);
      if (a?.roundId !== cohort.roundId) continue;
      this.endAssignment(a);
      // Only the declared example count is known per member: the rest is inside the sum.
      if (included.has(p)) this.selection.completed(p, this.members.get(p)?.capabilities.numExamples ?? 0, {}, now - a.startedAt);
      else this.selection.dropped(p, now - a.startedAt);
    }
    this.dispatchSoon();
    const held: HeldCohort = { kind: 'cohort', cohort, result, survivors };
    if (this.phase !== 'collecting' || !this.buffer) this.held.push(held);
    else this.fold(held);
  }

  /** A cohort without a sum (below the threshold, out of time): its members are free again, the task goes on. */
  private cohortAbandoned(cohort: Cohort, reason: string): void {
    const e = new ChorusError('ROUND_CLOSED', `secure cohort "${cohort.roundId}" abandoned: ${reason}`);
    for (const p of cohort.members) {
      const a = this.working.get(p);
      if (a?.roundId !== cohort.roundId) continue;
      this.endAssignment(a);
      this.deps.transport.send(a.connectionId, 'round:cancel', { taskId: this.stored.id, roundId: cohort.roundId, reason: e.message });
      this.recordRefusal(p, 0, null, e);
    }
    // Not at once: a cohort that cannot even start (say, its protocol refuses the parameters) must not spin.
    this.dispatchSoon(this.deps.roundRetryDelayMs ?? 2000);
  }

  /** Re-invites soon, not now: the participant hears its receipt before its next invitation. */
  private dispatchSoon(delayMs = 0): void {
    if (this.dispatchTimer) return;
    this.dispatchTimer = this.clock.setTimer(() => {
      this.dispatchTimer = null;
      this.dispatch();
    }, delayMs);
  }

  private expire(a: Assignment): void {
    a.timer = null;
    if (this.working.get(a.participantId) !== a) return;
    this.endAssignment(a);
    this.selection.dropped(a.participantId, this.clock.now() - a.startedAt);
    this.deps.transport.send(a.connectionId, 'round:cancel', { taskId: this.stored.id, roundId: a.roundId, reason: 'no update arrived before the deadline' });
    this.dispatchSoon();
  }

  private endAssignment(a: Assignment): void {
    if (a.timer) this.clock.clearTimer(a.timer);
    a.timer = null;
    if (this.working.get(a.participantId) !== a) return;
    this.working.delete(a.participantId);
    // A member leaving a cohort still in flight: its stages stop waiting for it.
    this.cohorts?.leave(a.roundId, a.participantId);
  }

  // ---- participants ----

  addMember(participantId: string, connectionId: string, capabilities: Capabilities): void {
    this.members.set(participantId, { participantId, connectionId, capabilities });
    const a = this.working.get(participantId);
    if (a && this.cohorts) {
      // A secure cohort member on a new connection keeps its place, but its invitation is not sent
      // again: a session that still holds the cohort's keys carries on through the stages, a
      // reloaded page lost them and is a dropout the protocol recovers from.
      a.connectionId = connectionId;
      return;
    }
    if (a && this.buffer) {
      // A reloaded page keeps its assignment: the same invitation again, on the same connection now.
      // (Moved in place: the assignment's deadline timer knows it by identity.)
      a.connectionId = connectionId;
      this.deps.transport.send(connectionId, 'round:invite', this.inviteFor(this.buffer, a.roundId, a.version, a.startedAt + this.config.rounds.deadlineMs));
      return;
    }
    this.maybeStartRound();
  }

  updateCapabilities(participantId: string, connectionId: string, capabilities: Capabilities): void {
    const m = this.members.get(participantId);
    if (!m || m.connectionId !== connectionId) return;
    m.capabilities = capabilities;
    this.maybeStartRound();
  }

  removeMember(participantId: string, connectionId: string): void {
    const m = this.members.get(participantId);
    if (!m || m.connectionId !== connectionId) return;
    this.members.delete(participantId);
    const a = this.working.get(participantId);
    if (a && a.connectionId === connectionId) {
      this.endAssignment(a);
      this.selection.dropped(participantId, this.clock.now() - a.startedAt);
      this.dispatchSoon();
    }
  }

  decline(participantId: string, roundId: string, _reason: string): void {
    const a = this.working.get(participantId);
    if (!a || a.roundId !== roundId) return;
    this.endAssignment(a);
    this.selection.dropped(participantId, 0);
    this.dispatchSoon();
  }

  /** A member's message for a stage of its secure cohort; refusals are typed errors, the cohort goes on. */
  secureMessage(participantId: string, req: SecAggClientMessage): void {
    if (!this.cohorts) throw new ChorusError('ROUND_CLOSED', `round "${req.roundId}" is not a secure round in progress: this task is not securely aggregated`);
    const bytes = this.cohorts.message(participantId, req);
    if (this.buffer && this.phase === 'collecting') this.buffer.bytesUp += bytes;
  }

  /** The upload gate's question: an open assignment owes exactly one update under its own roundId. */
  openSlots(roundId: string): number {
    for (const a of this.working.values()) if (a.roundId === roundId) return 1;
    return 0;
  }

  /** An upload refused before it began (a rate limit): the assignment is over, the participant free again. */
  refuseUpload(participantId: string, roundId: string, error: ChorusError): void {
    const a = this.working.get(participantId);
    if (!a || a.roundId !== roundId) return;
    this.endAssignment(a);
    this.recordRefusal(participantId, 0, null, error);
    this.dispatchSoon();
  }

  // ---- updates ----

  checkUpdate(participantId: string, roundId: string, version: number): void {
    // Refused without ending the assignment: the participant is still in its secure cohort.
    if (this.cohorts) throw new ChorusError('BAD_REQUEST', `task "${this.stored.id}" is securely aggregated: an update goes through its cohort's secure-aggregation stages (secagg:message), never as a plain upload`);
    try {
      this.checkAssignment(participantId, roundId, version);
    } catch (err) {
      // A refused assignment is over (the error's roundOver): the participant is free for a fresh one.
      const a = this.working.get(participantId);
      const e = ChorusError.from(err);
      if (a && a.roundId === roundId && e.code !== 'NOT_SELECTED') {
        this.endAssignment(a);
        this.recordRefusal(participantId, 0, null, e);
        this.dispatchSoon();
      }
      throw e;
    }
  }

  private checkAssignment(participantId: string, roundId: string, version: number): void {
    if (this.status !== 'running') throw new ChorusError('TASK_NOT_RUNNING', `task "${this.stored.id}" is ${this.status}`);
    const a = this.working.get(participantId);
    if (!a || a.roundId !== roundId) throw new ChorusError('NOT_SELECTED', `no open assignment "${roundId}" for this participant`);
    if (version !== a.version) throw new ChorusError('STALE_VERSION', `update is a delta from version ${version}; this assignment trains on version ${a.version}`);
    const tau = this.version - version;
    if (tau > this.options.maxStaleness) {
      throw new ChorusError('STALE_UPDATE', `update trained on version ${version}, ${tau} versions behind the global model (${this.version}); this task refuses updates more than ${this.options.maxStaleness} behind (async.maxStaleness)`);
    }
  }

  submitUpdate(participantId: string, sub: UpdateSubmission, bytes: Uint8Array): UpdateReceipt {
    this.checkUpdate(participantId, sub.roundId, sub.version);
    const a = this.working.get(participantId);
    this.endAssignment(a!);
    this.dispatchSoon();
    let update: EncodedUpdate;
    let l2Norm: number | null = null;
    try {
      this.checkExamples(participantId, sub.numExamples);
      const bound = a!.maxUpdateNorm ?? Infinity;
      update = this.deps.payload.parse(bytes, { layout: this.stored.layout, maxBytes: this.maxPayloadBytes(), codecs: [this.config.codec], maxAbs: bound, seed: roundCodecSeed(sub.roundId) });
      l2Norm = update.l2Norm();
      if (!(l2Norm <= bound)) throw new ChorusError('OUT_OF_BOUNDS', `update: its L2 norm ${l2Norm.toPrecision(4)} exceeds the bound ${bound.toPrecision(4)} of the version it trained on`);
    } catch (err) {
      const e = ChorusError.from(err);
      this.selection.dropped(participantId, this.clock.now() - a!.startedAt);
      this.recordRefusal(participantId, bytes.byteLength, l2Norm, e);
      throw e;
    }
    const held: Held = { kind: 'update', participantId, sub, update, bytes: bytes.byteLength, l2Norm, startedAt: a!.startedAt };
    if (this.phase !== 'collecting' || !this.buffer) {
      this.held.push(held);
      return { accepted: true, note: 'held for the next buffer (the server is applying the previous one)' };
    }
    return this.fold(held);
  }

  /** Folds a contribution into the open buffer with its staleness weight; flushes at K updates' worth. */
  private fold(h: Held): UpdateReceipt {
    return h.kind === 'update' ? this.foldUpdate(h) : this.foldCohort(h);
  }

  private foldUpdate(h: HeldUpdate): UpdateReceipt {
    const b = this.buffer!;
    const at = this.clock.now();
    const tau = this.version - h.sub.version;
    b.bytesUp += h.bytes;
    const base = { taskId: this.stored.id, round: b.round, participantId: h.participantId, bytes: h.bytes, l2Norm: h.l2Norm, at };
    if (tau > this.options.maxStaleness) {
      const e = new ChorusError('STALE_UPDATE', `update trained on version ${h.sub.version}, ${tau} versions behind (async.maxStaleness ${this.options.maxStaleness})`);
      b.receipts.push({ ...base, accepted: false, code: e.code, reason: e.message });
      return { accepted: false, code: e.code, reason: e.message };
    }
    const weight = stalenessWeight(tau, this.options);
    let outcome: UpdateReceipt;
    try {
      // A fast participant may land several updates in one buffer (FedBuff allows it; not with
      // central DP, see eligibleFree): each is its own entry. The strategy applies the staleness
      // weight after any clipping (ClientUpdate.scale), so a clipped stale update counts s(τ)·C.
      const added = b.aggregator.add({ participantId: `${h.participantId}@${h.sub.roundId}`, numExamples: h.sub.numExamples, update: h.update, scale: weight, metrics: h.sub.metrics });
      outcome = added.status === 'accepted' ? { accepted: true, note: `staleness ${tau}, weight ${weight.toPrecision(3)}${added.note ? `; ${added.note}` : ''}` } : { accepted: false, code: added.code, reason: added.reason };
    } catch (err) {
      const e = ChorusError.from(err);
      outcome = { accepted: false, code: e.code, reason: e.message };
    }
    b.receipts.push({ ...base, accepted: outcome.accepted, code: outcome.code ?? null, reason: outcome.reason ?? outcome.note ?? null });
    if (outcome.accepted) {
      b.accepted += 1;
      b.examples += h.sub.numExamples;
      b.addMetrics({ ...h.sub.metrics, staleness: tau }, h.sub.numExamples);
      this.selection.completed(h.participantId, h.sub.numExamples, h.sub.metrics, at - h.startedAt, this.selection.signatureOf(h.update));
      this.contributors.add(h.participantId);
      if (b.accepted >= this.options.bufferSize) this.flush();
    }
    return outcome;
  }

  /**
   * A secure cohort's unmasked mean enters the buffer as one entry worth its survivors' updates
   * (and examples), weighted by the cohort's staleness: every member trained on the same version.
   * Each survivor's receipt says so, with no norm and no byte count of its own.
   */
  private foldCohort(h: HeldCohort): UpdateReceipt {
    const b = this.buffer!;
    const at = this.clock.now();
    const { cohort, result, survivors } = h;
    const tau = this.version - cohort.version;
    const receipts = (accepted: boolean, code: string | null, reason: string) => {
      for (const participantId of survivors) b.receipts.push({ taskId: this.stored.id, round: b.round, participantId, bytes: 0, l2Norm: null, accepted, code, reason, at });
    };
    let outcome: UpdateReceipt;
    if (tau > this.options.maxStaleness) {
      const e = new ChorusError('STALE_UPDATE', `secure cohort "${cohort.roundId}" trained on version ${cohort.version}, ${tau} versions behind (async.maxStaleness ${this.options.maxStaleness})`);
      outcome = { accepted: false, code: e.code, reason: e.message };
    } else {
      const weight = stalenessWeight(tau, this.options);
      const update = secureAggregate(this.stored.layout, this.config, result, `secure-aggregate@${cohort.roundId}`, weight);
      try {
        const added = b.aggregator.add(update);
        if (added.status === 'accepted') {
          receipts(true, null, `${secureReceiptNote(result)}; staleness ${tau}, weight ${weight.toPrecision(3)}`);
          b.accepted += survivors.length;
          b.examples += update.numExamples;
          b.addMetrics({ staleness: tau }, update.numExamples);
          for (const p of survivors) this.contributors.add(p);
          this.log.info({ round: b.round, roundId: cohort.roundId, survivors: survivors.length, staleness: tau }, 'secure cohort folded into the buffer');
          if (b.accepted >= this.options.bufferSize) this.flush();
          return { accepted: true };
        }
        outcome = { accepted: false, code: added.code, reason: added.reason };
      } catch (err) {
        const e = ChorusError.from(err);
        outcome = { accepted: false, code: e.code, reason: e.message };
      }
    }
    receipts(false, outcome.code ?? null, outcome.reason ?? 'refused');
    this.log.warn({ round: b.round, roundId: cohort.roundId, code: outcome.code, reason: outcome.reason }, 'secure cohort sum refused');
    return outcome;
  }

  private recordRefusal(participantId: string, bytes: number, l2Norm: number | null, e: ChorusError): void {
    const b = this.buffer;
    const receipt = { taskId: this.stored.id, round: b?.round ?? this.lastRound, participantId, bytes, l2Norm, accepted: false, code: e.code, reason: e.message, at: this.clock.now() };
    if (b && this.phase === 'collecting') b.receipts.push(receipt);
    else if (receipt.round > 0) this.closer.track(() => this.deps.storage.addReceipt(receipt));
    this.log.info({ participantId, code: e.code }, 'update refused');
  }

  private checkExamples(participantId: string, numExamples: number): void {
    const declared = this.members.get(participantId)?.capabilities.numExamples ?? 0;
    if (numExamples > declared) throw new ChorusError('OUT_OF_BOUNDS', `numExamples: ${numExamples} is more than the ${declared} local examples this participant declared`);
    if (numExamples > this.limits.maxExamplesPerUpdate) throw new ChorusError('OUT_OF_BOUNDS', `numExamples: ${numExamples} is more than this task accepts per update (limits.maxExamplesPerUpdate = ${this.limits.maxExamplesPerUpdate})`);
    const { maxExamples } = this.config.training;
    if (maxExamples > 0 && numExamples > maxExamples) throw new ChorusError('OUT_OF_BOUNDS', `numExamples: ${numExamples} is more than training.maxExamples (${maxExamples}) allows per update`);
  }

  recordDownload(bytes: number): void {
    if (this.buffer && this.phase === 'collecting') this.buffer.bytesDown += bytes;
  }

  idle(): Promise<void> {
    return this.closer.idle();
  }
}
