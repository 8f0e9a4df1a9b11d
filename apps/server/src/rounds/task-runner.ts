import type { Logger } from 'pino';
import { ChorusError, roundCodecSeed, type SecAggClientMessage, type SecAggResult, updateLimitsSchema, updateNormBound, type Capabilities, type RoundInvite, type ClientFailure, type TaskConfig, type TaskStatus, type Strategy, type UpdateLimits, type UpdateReceipt, type ClientUpdate, type TensorSpec } from '@chorus/core';
import type { StoredTask } from '../storage/storage.js';
import { aggregatesLinearly, checkExamples, parseUpload, type UploadRules } from './upload-validation.js';
import type { Clock, TimerHandle } from './clock.js';
import { isEligible, pickRandom, selectionSize, type SelectionReason } from './client-selection.js';
import type { EngineDeps } from './engine-deps.js';
import { OpenRound } from './open-round.js';
import { RoundCloser, type CloseCause, type RoundCloserHost } from './round-closer.js';
import type { RoundAbandoned, RoundCommitted, RoundOutcome } from './round-outcome.js';
import { buildTaskSummary, type RoundPhase, type TaskSummary } from './task-summary.js';
import { SelectionTracker, examplesPerRound } from './selection-tracker.js';
import { openTaskSecureRound, secureAggregate, secureReceiptNote } from './task-secure-round.js';
import type { PartialSum, RoundRules, UploadVerdict } from './coordination.js';
import { partialSumUpdate } from './partial-sums.js';
import { InviteDownloadChecks } from './download-checks.js';

export type { RoundPhase } from './task-summary.js';

export interface Member {
  readonly participantId: string;
  connectionId: string;
  capabilities: Capabilities;
}

export interface RunnerHooks {
  /** Whether the connection is busy in another task's round. */
  isBusyElsewhere(connectionId: string, taskId: string): boolean;
  /** A round closed: clients it held may now be free for other tasks. */
  onRoundClosed(): void;
  /**
   * Another process coordinates the task (several processes): this runner only mirrors the stored
   * state and this process's members for the read model, and never opens a round.
   */
  readonly passive?: boolean;
  /** The fencing token of this process's lease on the task; every commit carries it. */
  readonly fence?: number;
  /**
   * Several processes: fetches the partial sums of a round's uploads received by other processes
   * (`expected`: updates and examples admitted from each), as updates to fold. Absent: no partial sums.
   */
  collectPartials?(taskId: string, roundId: string, layout: readonly TensorSpec[], expected: ReadonlyMap<string, { count: number; examples: number }>): Promise<ClientUpdate[]>;
  /** The stored status or version changed (the other processes reload theirs). */
  onChanged?(): void;
  /** A round committed a version (the other processes' mirrors follow it; onChanged when absent). */
  onCommitted?(committed: RoundCommitted): void;
  /** Several processes: resolves once every process has written the version to its participants (Coordination.delivered). */
  delivered?(version: number): Promise<void>;
}

/** Partial sums adopted from an abandoned round, waiting for the next round (see adoptPartials). */
interface Adopted {
  readonly updates: readonly ClientUpdate[];
  readonly participants: ReadonlySet<string>;
  readonly count: number;
  readonly examples: number;
  readonly metrics: ReadonlyMap<string, { sum: number; weight: number }>;
}

export interface UpdateSubmission {
  readonly roundId: string;
  readonly version: number;
  readonly numExamples: number;
  readonly metrics: Readonly<Record<string, number>>;
}

/** The process id under which this process's own uploads are reported to its task runner. */
export const LOCAL_PROCESS = 'local';
/** How long another process's report of its running uploads counts (it reports with every begin, admit and refresh). */
export const IN_FLIGHT_REPORT_MS = 3_000;

/**
 * One task's round state machine: idle → waiting-for-clients → collecting → aggregating → …
 *
 * The single owner of the task's round state (status, phase, open round, global model, version):
 * only its own methods write it. The round closer computes an outcome and hands it back through
 * `apply`; everyone else reads `summary()` or the narrow accessors below.
 */
export class TaskRunner implements RoundCloserHost {
  private status: TaskStatus;
  private phase: RoundPhase = 'idle';
  private round: OpenRound | null = null;
  private readonly members = new Map<string, Member>();
  /** The abandoned round's participants the next round invites first (resumeCohort), once. */
  private cohort: ReadonlySet<string> | null = null;
  /** The abandoned round's partial sums the next round counts as accepted updates (adoptPartials), once. */
  private adopted: Adopted | null = null;
  private deadlineTimer: TimerHandle | null = null;
  private retryTimer: TimerHandle | null = null;
  private shuttingDown = false;
  /** Joins that cannot open a round yet (see newCandidate). */
  private scansToSkip = 0;
  private readonly closer: RoundCloser;
  readonly clock: Clock;
  readonly log: Logger;
  /** Update bounds; tasks stored before `limits` existed get the defaults. */
  readonly limits: UpdateLimits;
  /** The task's selection policy and what it remembers of each participant. */
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
    this.log = deps.logger.child({ taskId: stored.id });
    this.closer = new RoundCloser(this);
    this.limits = updateLimitsSchema.parse(stored.config.limits ?? {});
    this.selection = new SelectionTracker(stored.id, stored.config.selection, deps.storage, this.log);
    this.downloadChecks = new InviteDownloadChecks(deps, this.log);
    // A passive mirror never selects: the participant history is loaded only where rounds run.
    if (!hooks.passive) this.closer.track(() => this.selection.load());
  }

  // ---- the read model ----

  /** The task as stored (replaced, never mutated, when its status changes). */
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

  /** The lease's fencing token that commits carry (several processes); undefined on one process. */
  get fence(): number | undefined {
    return this.hooks.fence;
  }

  /** The global model the next round's updates are deltas from (the closer reads it; never written through). */
  model(): { readonly version: number; readonly global: Float32Array } {
    return { version: this.version, global: this.global };
  }

  /** A copy of the current global weights. */
  globalWeights(): Float32Array {
    return this.global.slice();
  }

  summary(): TaskSummary {
    const r = this.round;
    const state = { status: this.status, phase: this.phase, version: this.version, lastRound: this.lastRound };
    return buildTaskSummary(this.stored, { ...state, currentRound: r ? { round: r.round, roundId: r.roundId, version: r.version, selected: r.selected.size, accepted: r.accepted, startedAt: r.startedAt, deadline: r.invite.deadline } : null }, this.members.values());
  }


  /** The connection is still expected to answer this task's open round. */
  holdsConnection(connectionId: string): boolean {
    return this.phase === 'collecting' && this.round !== null && this.round.holdsConnection(connectionId);
  }

  /** Persists a status change and tells every participant of the task. */
  private async setStatus(status: TaskStatus): Promise<void> {
    this.status = status;
    this.stored = { ...this.stored, status };
    await this.deps.storage.setTaskStatus(this.stored.id, status, this.clock.now());
    this.hooks.onChanged?.();
    this.deps.transport.broadcast(this.stored.id, 'task:status', { taskId: this.stored.id, status });
    this.log.info({ status }, 'task status');
  }

  async start(): Promise<void> {
    if (this.status === 'completed') throw new ChorusError('TASK_NOT_RUNNING', `task "${this.stored.id}" is completed: it ran its ${this.config.rounds.maxRounds} rounds`);
    if (this.status !== 'running') await this.setStatus('running');
    this.enterWaiting();
  }

  /** Pause or stop: an open round is abandoned with the reason, its clients get round:cancel. */
  async halt(status: 'paused' | 'stopped'): Promise<void> {
    if (status === 'paused' && this.status !== 'running') throw new ChorusError('TASK_NOT_RUNNING', `task "${this.stored.id}" is ${this.status}, not running: only a running task can be paused`);
    this.clearTimers();
    if (this.phase === 'collecting') await this.abandonRound(`task ${status} by the operator`, false);
    if (this.phase !== 'aggregating') this.phase = 'idle';
    await this.setStatus(status);
  }

  async resume(): Promise<void> {
    if (this.status !== 'paused') throw new ChorusError('TASK_NOT_RUNNING', `task "${this.stored.id}" is ${this.status}, not paused: only a paused task can be resumed`);
    await this.setStatus('running');
    this.enterWaiting();
  }

  /** Server shutdown: no new rounds, no timers; an open round is abandoned with that reason. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    this.clearTimers();
    if (this.phase === 'collecting') await this.abandonRound('server shutdown', false);
  }

  enterWaiting(): void {
    if (this.hooks.passive || this.shuttingDown || this.status !== 'running' || this.phase === 'collecting' || this.phase === 'aggregating') return;
    this.phase = 'waiting-for-clients';
    this.maybeStartRound();
  }

  /** Wait before the next round: after an abandoned one (so a failing round does not spin) or a committed one (roundIntervalMs). */
  private retryLater(delayMs = this.deps.roundRetryDelayMs ?? 2000): void {
    if (this.shuttingDown) return;
    this.phase = 'waiting-for-clients';
    if (this.retryTimer) this.clock.clearTimer(this.retryTimer);
    this.retryTimer = this.clock.setTimer(() => {
      this.retryTimer = null;
      this.maybeStartRound();
    }, delayMs);
  }

  private eligibleMembers(): Member[] {
    return [...this.members.values()].filter((m) => isEligible(m.capabilities, this.config.rounds) && !this.hooks.isBusyElsewhere(m.connectionId, this.stored.id));
  }

  maybeStartRound(): void {
    this.scansToSkip = 0;
    if (this.hooks.passive || this.shuttingDown || this.status !== 'running' || this.phase !== 'waiting-for-clients' || this.retryTimer) return;
    const rounds = this.config.rounds;
    // Updates adopted from an abandoned round count towards this one (see adoptPartials).
    const adopted = this.adopted;
    const have = adopted?.count ?? 0;
    const needed = Math.max(0, Math.max(rounds.minAvailable, rounds.minClients) - have);
    // Eligible members are among the members: too few members needs no scan at all.
    if (this.members.size < needed) return;
    // Whose update is adopted is not asked again: the version would count it twice.
    const eligible = adopted ? this.eligibleMembers().filter((m) => !adopted.participants.has(m.participantId)) : this.eligibleMembers();
    if (eligible.length < needed) {
      this.scansToSkip = needed - eligible.length - 1;
      return;
    }
    const count = selectionSize(Math.max(0, rounds.targetClients - have), rounds.overSelection, eligible.length);
    const random = this.deps.random ?? Math.random;
    // A round restarted after a failover invites the abandoned round's participants that are still
    // here first: they were online moments ago and already hold the version. The policy fills the rest.
    const cohort = this.cohort;
    this.cohort = null;
    const again = cohort ? pickRandom(eligible.filter((m) => cohort.has(m.participantId)), count, random) : [];
    const others = cohort ? eligible.filter((m) => !cohort.has(m.participantId)) : eligible;
    const rest = this.selection.select(others, count - again.length, this.lastRound + 1, {
      random,
      deadlineMs: rounds.deadlineMs,
      examplesPerRound: (m) => examplesPerRound(m.capabilities, this.config.training),
    });
    this.openRound([...again, ...rest.picked], [...again.map((m) => ({ participantId: m.participantId, kind: 'resume' as const })), ...rest.reasons]);
  }

  /** The participants of the round a dead coordinator left open: the next round invites them first (see maybeStartRound). */
  resumeCohort(participantIds: readonly string[]): void {
    this.cohort = participantIds.length > 0 ? new Set(participantIds) : null;
  }

  /**
   * The partial sums the surviving processes held of the round a dead coordinator left open (`version`:
   * the version that round trained on). Where the aggregate is linear and the round trained on this
   * runner's version, the next round counts them as accepted updates, invites only for the rest and
   * never asks their participants again; otherwise they are dropped (a robust or private aggregate
   * needs each update, a newer version makes them stale). Returns how many updates were adopted.
   */
  adoptPartials(sums: readonly PartialSum[], version: number): number {
    if (this.hooks.passive || !aggregatesLinearly(this.config) || version !== this.version || this.phase === 'collecting' || this.phase === 'aggregating') return 0;
    const kept = sums.filter((p) => p.count > 0 && p.examples > 0);
    const updates = kept.map((p, i) => partialSumUpdate(`adopted-partial-sum:${i}`, this.stored.layout, p));
    const participants = new Set(kept.flatMap((p) => p.participants));
    const count = kept.reduce((n, p) => n + p.count, 0);
    // Two sums naming one participant would count it twice: adopt none rather than guess.
    if (participants.size !== count) throw new ChorusError('BAD_REQUEST', `the adopted partial sums hold ${count} updates from ${participants.size} participants`);
    const metrics = new Map<string, { sum: number; weight: number }>();
    for (const p of kept) {
      for (const [k, m] of Object.entries(p.metrics)) {
        const t = metrics.get(k) ?? { sum: 0, weight: 0 };
        metrics.set(k, { sum: t.sum + m.sum, weight: t.weight + m.weight });
      }
    }
    this.adopted = count > 0 ? { updates, participants, count, examples: kept.reduce((n, p) => n + p.examples, 0), metrics } : null;
    return count;
  }

  private openRound(picked: Member[], reasons: readonly SelectionReason[] = []): void {
    const round = this.lastRound + 1;
    const roundId = `${this.stored.id}-r${round}`;
    const now = this.clock.now();
    let aggregator: ReturnType<Strategy['beginRound']>;
    let overrides: ReturnType<Strategy['configureFit']>;
    try {
      overrides = this.strategy.configureFit(round);
      aggregator = this.strategy.beginRound({ round, version: this.version, layout: this.stored.layout, global: this.global, selected: picked.length, population: this.members.size });
    } catch (err) {
      if (!(err instanceof ChorusError) || err.code !== 'BUDGET_EXHAUSTED') {
        // A strategy that cannot open a round must not take the caller (a join, a timer) down with it.
        this.log.error({ err, round }, 'the strategy could not open a round; retrying later');
        this.retryLater();
        return;
      }
      // A DP strategy refuses a round that would overspend the task's privacy budget: the task is done.
      this.phase = 'idle';
      this.log.warn({ round, reason: err.message }, 'privacy budget spent: task completed');
      void this.setStatus('completed').catch((e: unknown) => this.log.error({ err: e }, 'status write failed'));
      return;
    }
    this.lastRound = round;
    const invite = {
      taskId: this.stored.id,
      roundId,
      round,
      version: this.version,
      deadline: now + this.config.rounds.deadlineMs,
      training: { ...this.config.training, overrides: { ...overrides } },
      codec: this.config.codec,
      maxUpdateNorm: updateNormBound(this.limits, this.global, this.config.privacy?.localDp),
      ...this.downloadChecks.of(this.stored, this.version, this.global),
    };
    this.round = new OpenRound(this.stored.id, round, roundId, this.version, now, invite, aggregator, picked);
    const adopted = this.adopted;
    this.adopted = null;
    if (adopted) {
      this.round.adopted = adopted.updates;
      this.round.accepted = adopted.count;
      this.round.examples = adopted.examples;
      // How many of the adopted updates reported each figure is not known: counted as none, so a
      // personal figure still needs its MIN_PERSONAL_REPORTS reporters among this round's own uploads.
      for (const [k, m] of adopted.metrics) this.round.metricSums.set(k, { ...m, count: 0 });
    }
    this.phase = 'collecting';
    const opened = this.round;
    this.closer.track(() =>
      this.deps.storage.openRound({ taskId: this.stored.id, round, roundId, version: this.version, startedAt: now, selected: picked.length }).catch((err: unknown) => {
        // A round the database does not know can never commit (the database unreachable, say): end it
        // now and retry, rather than collect updates for its whole deadline.
        if (this.round === opened && this.phase === 'collecting') void this.abandonRound(`the round could not be recorded: ${ChorusError.from(err).message}`, true);
        throw err;
      }),
    );
    this.closer.track(() => this.selection.persist({ round, reasons }));
    this.log.info({ round, roundId, version: this.version, selected: picked.length, eligible: this.members.size, ...(adopted ? { adopted: adopted.count } : {}) }, 'round opened');
    const secure = this.config.secureAggregation;
    if (secure) void this.openSecure(this.round, picked);
    else for (const m of picked) this.deps.transport.send(m.connectionId, 'round:invite', invite);
    // A secure round ends through its own stage deadlines; this one is only a safety net for it.
    const deadline = this.config.rounds.deadlineMs + (secure ? 4 * secure.stageDeadlineMs : 0);
    this.deadlineTimer = this.clock.setTimer(() => {
      this.deadlineTimer = null;
      this.closeRound('deadline');
    }, deadline);
    // Adopted updates may already make the round (nobody invited, or the target met).
    if (adopted) this.closeIfDone();
  }

  // ---- secure aggregation: the round's update is the SecAgg+ sum, never an individual one ----

  private async openSecure(r: OpenRound, picked: Member[]): Promise<void> {
    try {
      const secure = await openTaskSecureRound({
        roundId: r.roundId,
        participants: picked,
        config: this.config,
        limits: this.limits,
        bound: r.invite.maxUpdateNorm ?? updateNormBound(this.limits, this.global),
        length: this.global.length,
        clock: this.clock,
        log: this.log,
        send: (participantId, event, payload) => {
          const sel = r.selected.get(participantId);
          if (sel) this.deps.transport.send(sel.connectionId, 'secagg:next', { taskId: r.taskId, roundId: r.roundId, event, payload });
        },
      });
      if (this.round !== r || this.phase !== 'collecting') return secure.cancel('the round closed');
      r.secure = secure;
      for (const m of picked) {
        const sel = r.selected.get(m.participantId)!;
        this.deps.transport.send(sel.connectionId, 'round:invite', { ...r.invite, secureAggregation: { id: secure.idOf(m.participantId), setup: secure.setup } });
      }
      secure.result.then(
        (result) => this.secureDone(r, result),
        (err: unknown) => {
          if (this.round === r) void this.abandonRound(ChorusError.from(err).message, true);
        },
      );
    } catch (err) {
      this.log.error({ err, round: r.round }, 'could not open the secure round');
      if (this.round === r) void this.abandonRound(`secure aggregation could not start: ${ChorusError.from(err).message}`, true);
    }
  }

  /** A participant's message for a stage of the open secure round; refusals are typed errors. */
  secureMessage(participantId: string, req: SecAggClientMessage): void {
    const r = this.round;
    if (this.phase !== 'collecting' || !r || r.roundId !== req.roundId || !r.secure) throw new ChorusError('ROUND_CLOSED', `round "${req.roundId}" is not a secure round in progress`);
    r.bytesUp += r.secure.take(participantId, req);
  }

  /** The unmasked weighted mean is the round's one update; the survivors' receipts say so. */
  private secureDone(r: OpenRound, result: SecAggResult): void {
    if (this.round !== r || this.phase !== 'collecting') return;
    const update = secureAggregate(this.stored.layout, this.config, result, 'secure-aggregate');
    const outcome = r.aggregator.add(update);
    if (outcome.status === 'rejected') {
      void this.abandonRound(`the securely aggregated sum was refused: ${outcome.reason}`, true);
      return;
    }
    const at = this.clock.now();
    const note = secureReceiptNote(result);
    for (const id of result.included) {
      const participantId = r.secure!.participantIdOf(id)!;
      const sel = r.selected.get(participantId);
      if (sel) sel.status = 'submitted';
      r.receipts.push({ taskId: this.stored.id, round: r.round, participantId, bytes: 0, l2Norm: null, accepted: true, code: null, reason: note, at });
    }
    r.accepted = result.included.length;
    r.examples = update.numExamples;
    this.log.info({ round: r.round, included: result.included.length, ...result.report }, 'secure round unmasked');
    this.closeRound('settled');
  }

  private clearTimers(): void {
    if (this.deadlineTimer) this.clock.clearTimer(this.deadlineTimer);
    if (this.retryTimer) this.clock.clearTimer(this.retryTimer);
    this.deadlineTimer = null;
    this.retryTimer = null;
  }

  // ---- closing: the closer computes the outcome, the runner applies it ----

  private closeIfDone(): void {
    const r = this.round;
    // A secure round closes when its protocol ends (secureDone or its abandonment), not before.
    if (this.phase !== 'collecting' || !r || r.secure || this.config.secureAggregation) return;
    if (r.accepted >= this.config.rounds.targetClients) this.closeRound('target');
    else if (r.settled()) this.closeRound('settled');
  }

  /** collecting → aggregating, then the closer aggregates and commits or abandons. */
  private closeRound(cause: CloseCause): void {
    const r = this.round;
    if (this.phase !== 'collecting' || !r) return;
    r.secure?.cancel('the round closed');
    this.phase = 'aggregating';
    this.clearTimers();
    this.recordSelectionOutcomes(r, cause);
    void this.closer.close(r, cause);
  }

  /** What each invited participant did this round, for the selection policy's history. */
  private recordSelectionOutcomes(r: OpenRound, cause: CloseCause): void {
    const worked = this.clock.now() - r.startedAt;
    for (const c of r.selected.values()) {
      if (c.status === 'disconnected' || c.status === 'declined' || c.status === 'rejected') this.selection.dropped(c.participantId, 0);
      else if (c.status === 'invited') {
        if (cause === 'deadline') this.selection.dropped(c.participantId, worked);
        else this.selection.late(c.participantId, worked);
      }
    }
    this.closer.track(() => this.selection.persist());
  }

  /** Ends the open round without a new version; its receipts and the reason are recorded. */
  private async abandonRound(reason: string, retry: boolean): Promise<void> {
    const r = this.round;
    if (this.phase !== 'collecting' || !r) return;
    r.secure?.cancel(reason);
    this.phase = 'aggregating';
    this.clearTimers();
    await this.closer.abandon(r, reason, retry);
  }

  roundClosed(): void {
    this.hooks.onRoundClosed();
  }

  apply(outcome: RoundOutcome): void {
    switch (outcome.kind) {
      case 'committed':
        return this.applyCommitted(outcome);
      case 'abandoned':
        return this.applyAbandoned(outcome);
    }
  }

  private applyCommitted(o: RoundCommitted): void {
    if (o.late) {
      if (this.version !== o.version - 1) {
        this.log.error({ version: o.version, current: this.version }, 'a late checkpoint landed out of order: restart the server to reload the latest version');
        return;
      }
      this.global = o.global;
      this.version = o.version;
      this.log.warn({ version: o.version }, 'a checkpoint landed after the watchdog abandoned its round: the global model moves to it');
      if (this.round && this.phase === 'collecting') void this.abandonRound('the global model moved on to a late checkpoint', true);
      return;
    }
    this.global = o.global;
    this.version = o.version;
    if (this.round?.round === o.round) this.round = null;
    if (this.hooks.onCommitted) this.hooks.onCommitted(o);
    else this.hooks.onChanged?.();
  }

  /**
   * A passive mirror takes the version the coordinator just committed, in place: the same runner and
   * members (a full reload built a new runner and re-added every local member, and read the version
   * back from the database, while this process was writing the new version to its participants).
   * False, changing nothing, unless it is a mirror holding the version just before.
   */
  followCommit(version: number, round: number, global: Float32Array, strategyState: Uint8Array | null): boolean {
    if (!this.hooks.passive || version !== this.version + 1 || global.length !== this.global.length) return false;
    if (strategyState) this.strategy.importState(strategyState);
    this.global = global;
    this.version = version;
    this.lastRound = Math.max(this.lastRound, round);
    return true;
  }

  /** The last good version stays; the task waits for its next round. */
  private applyAbandoned(o: RoundAbandoned): void {
    if (this.round?.round === o.round) this.round = null;
    if (this.phase === 'aggregating') this.phase = 'idle';
    if (o.retry && this.status === 'running') this.retryLater();
  }

  /** The committed version was evaluated and announced: complete the task or go on to the next round. */
  async published(o: RoundCommitted): Promise<void> {
    this.phase = 'idle';
    const maxRounds = this.config.rounds.maxRounds;
    if (maxRounds > 0 && o.version >= maxRounds && this.status === 'running') {
      try {
        await this.setStatus('completed');
      } catch (err) {
        this.log.error({ err, version: o.version }, 'could not mark the task completed');
      }
      return;
    }
    // Several processes: the next round's invites wait until every process has written the new
    // version to its participants. One process gets this from its FIFO emit queue; without the wait,
    // a process that finished first invited its participants, whose downloads and uploads then
    // competed with the others' broadcasts (half a second more for the last participant to hear of
    // the version in the scale benchmark). Something else may have moved the task on meanwhile.
    if (this.hooks.delivered) {
      await this.hooks.delivered(o.version);
      if (this.phase !== 'idle' || this.version !== o.version) return;
    }
    const interval = this.config.rounds.roundIntervalMs;
    if (interval > 0) this.retryLater(interval);
    else this.enterWaiting();
  }

  // ---- participants ----

  addMember(participantId: string, connectionId: string, capabilities: Capabilities): void {
    this.members.set(participantId, { participantId, connectionId, capabilities });
    const r = this.round;
    const sel = this.phase === 'collecting' ? r?.selected.get(participantId) : undefined;
    if (r && sel && (sel.status === 'invited' || sel.status === 'disconnected')) {
      // A reloaded page keeps its place in the round it was invited to.
      sel.status = 'invited';
      r.reconnect(participantId, connectionId);
      r.failures.delete(participantId);
      this.deps.transport.send(connectionId, 'round:invite', r.invite);
      return;
    }
    this.newCandidate();
  }

  /**
   * A member joined or changed its capabilities. Each adds at most one eligible member, so after a
   * selection attempt that came up n short the next n − 1 cannot open a round and skip the O(members)
   * scan: a reconnect storm while a task waits no longer costs O(connections²).
   */
  private newCandidate(): void {
    if (this.scansToSkip > 0) {
      this.scansToSkip -= 1;
      return;
    }
    this.maybeStartRound();
  }

  updateCapabilities(participantId: string, connectionId: string, capabilities: Capabilities): void {
    const m = this.members.get(participantId);
    if (!m || m.connectionId !== connectionId) return;
    m.capabilities = capabilities;
    this.newCandidate();
  }

  removeMember(participantId: string, connectionId: string): void {
    const m = this.members.get(participantId);
    if (!m || m.connectionId !== connectionId) return;
    this.members.delete(participantId);
    const sel = this.phase === 'collecting' ? this.round?.selected.get(participantId) : undefined;
    if (sel && sel.status === 'invited' && sel.connectionId === connectionId) {
      this.round!.secure?.leave(participantId);
      this.round!.fail(participantId, { participantId, code: 'DISCONNECTED', reason: 'the connection closed during the round' }, 'disconnected');
      this.log.info({ round: this.round!.round, participantId }, 'selected client disconnected');
      this.closeIfDone();
    }
  }

  decline(participantId: string, roundId: string, reason: string): void {
    const r = this.collecting(roundId);
    const sel = r?.selected.get(participantId);
    if (!r || !sel || sel.status !== 'invited') return;
    r.secure?.leave(participantId);
    r.fail(participantId, { participantId, code: 'DECLINED', reason: reason || 'declined' }, 'declined');
    this.closeIfDone();
  }

  // ---- updates ----

  /** Throws the ChorusError a client gets for an update it may not send now. */
  checkUpdate(participantId: string, roundId: string, version: number): void {
    if (version !== this.version) {
      throw new ChorusError('STALE_VERSION', `update is a delta from version ${version}; the global model is at version ${this.version}`);
    }
    const r = this.collecting(roundId);
    if (!r) throw new ChorusError('ROUND_CLOSED', `round "${roundId}" is not collecting updates`);
    const sel = r.selected.get(participantId);
    if (!sel || sel.status === 'declined') throw new ChorusError('NOT_SELECTED', `participant was not selected for round ${r.round}`);
    if (sel.status === 'submitted' || sel.status === 'rejected') throw new ChorusError('DUPLICATE_UPDATE', `participant already sent an update for round ${r.round}`);
    if (this.config.secureAggregation) throw new ChorusError('BAD_REQUEST', `round ${r.round} is securely aggregated: the update goes through the secure-aggregation stages (secagg:message), never as a plain upload`);
  }

  /** A copy of what the task knows of a connected participant. */
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
    // Asked for every upload chunk; the header size needs the layout's names UTF-8 encoded: once per layout and codec.
    const { layout } = this.stored;
    const { codec } = this.config;
    const c = this.payloadLimit;
    if (c && c.layout === layout && c.codec === codec) return c.bytes;
    const bytes = this.deps.payload.maxBytes(layout, codec);
    this.payloadLimit = { layout, codec, bytes };
    return bytes;
  }
  private payloadLimit: { layout: StoredTask['layout']; codec: TaskConfig['codec']; bytes: number } | null = null;

  /** Validates and folds a complete upload; protocol rejections throw, strategy rejections return accepted:false. */
  submitUpdate(participantId: string, sub: UpdateSubmission, bytes: Uint8Array): UpdateReceipt {
    try {
      this.checkUpdate(participantId, sub.roundId, sub.version);
    } catch (err) {
      const e = ChorusError.from(err);
      const round = this.round && this.round.roundId === sub.roundId ? this.round.round : Number(/-r(\d+)$/.exec(sub.roundId)?.[1] ?? 0);
      const receipt = { taskId: this.stored.id, round, participantId, bytes: bytes.byteLength, l2Norm: null, accepted: false, code: e.code, reason: e.message, at: this.clock.now() };
      if (round > 0 && round <= this.lastRound) this.closer.track(() => this.deps.storage.addReceipt(receipt));
      throw e;
    }
    const r = this.round!;
    r.bytesUp += bytes.byteLength;
    let outcome: UpdateReceipt;
    let l2Norm: number | null = null;
    let signature: number[] | null = null;
    try {
      this.checkExamples(participantId, sub.numExamples);
      const parsed = parseUpload(this.deps.payload, bytes, this.uploadRules(r), (n) => (l2Norm = n));
      const added = r.aggregator.add({ participantId, numExamples: sub.numExamples, update: parsed.update, metrics: sub.metrics });
      if (added.status === 'accepted') signature = this.selection.signatureOf(parsed.update);
      outcome = added.status === 'accepted' ? { accepted: true, ...(added.note ? { note: added.note } : {}) } : { accepted: false, code: added.code, reason: added.reason };
    } catch (err) {
      const e = ChorusError.from(err);
      this.recordRejected(r, participantId, bytes.byteLength, l2Norm, e);
      throw e;
    }
    return this.recordOutcome(r, participantId, sub, bytes.byteLength, l2Norm, outcome, signature);
  }

  /** The rules an upload for the open round must meet (here, or on the process that received it). */
  private uploadRules(r: OpenRound): UploadRules {
    return { layout: this.stored.layout, config: this.config, limits: this.limits, maxBytes: this.maxPayloadBytes(), bound: r.invite.maxUpdateNorm ?? Infinity, seed: roundCodecSeed(r.roundId) };
  }

  private recordRejected(r: OpenRound, participantId: string, bytes: number, l2Norm: number | null, e: ChorusError): void {
    r.receipts.push({ taskId: this.stored.id, round: r.round, participantId, bytes, l2Norm, accepted: false, code: e.code, reason: e.message, at: this.clock.now() });
    r.fail(participantId, { participantId, code: e.code, reason: e.message }, 'rejected');
    this.log.info({ round: r.round, participantId, code: e.code }, 'update rejected');
    this.closeIfDone();
  }

  private recordOutcome(r: OpenRound, participantId: string, sub: UpdateSubmission, bytes: number, l2Norm: number | null, outcome: UpdateReceipt, signature: readonly number[] | null = null): UpdateReceipt {
    const at = this.clock.now();
    r.receipts.push({ taskId: this.stored.id, round: r.round, participantId, bytes, l2Norm, accepted: outcome.accepted, code: outcome.code ?? null, reason: outcome.reason ?? outcome.note ?? null, at });
    if (outcome.accepted) {
      r.selected.get(participantId)!.status = 'submitted';
      this.selection.completed(participantId, sub.numExamples, sub.metrics, at - r.startedAt, signature);
      r.accepted += 1;
      r.examples += sub.numExamples;
      r.addMetrics(sub.metrics, sub.numExamples);
    } else {
      r.fail(participantId, { participantId, code: (outcome.code ?? 'BAD_REQUEST') as ClientFailure['code'], reason: outcome.reason ?? 'rejected' }, 'rejected');
    }
    this.log.info({ round: r.round, participantId, accepted: outcome.accepted, bytes }, 'update received');
    this.closeIfDone();
    return outcome;
  }

  /** An update's weight in the mean is its example count: bounded by the declaration and the task. */
  private checkExamples(participantId: string, numExamples: number): void {
    checkExamples(numExamples, this.members.get(participantId)?.capabilities.numExamples ?? 0, this.limits, this.config);
  }

  // ---- hierarchical aggregation (several processes, linear strategies) ----

  /**
   * What a process that is not the coordinator needs to validate uploads for this round itself, and
   * whether it may fold them into a partial sum (a linear aggregate, and the engine collects partial
   * sums). Throws as checkUpdate does.
   */
  roundRules(participantId: string, roundId: string, version: number, forProcess = LOCAL_PROCESS): RoundRules {
    this.checkUpdate(participantId, roundId, version);
    const bound = this.round!.invite.maxUpdateNorm;
    return { bound: bound ?? null, partial: this.hooks.collectPartials !== undefined && aggregatesLinearly(this.config), openSlots: this.openSlotsAnswer(roundId, forProcess), ...(this.selection.usesSignatures ? { signature: true } : {}) };
  }

  /**
   * An upload another process validated and (once this answers "accepted") folds into its partial
   * sum: the round's bookkeeping exactly as for a local upload (receipt, status, counts, metrics,
   * selection history) plus the size that process's partial sum must have. `verdict`: the update's
   * L2 norm, or why the receiving process refused it (its codec checks or bounds).
   */
  admitPartial(processId: string, participantId: string, sub: UpdateSubmission, bytes: number, verdict: UploadVerdict): UpdateReceipt {
    if (!this.roundRules(participantId, sub.roundId, sub.version).partial) throw new ChorusError('ROUND_CLOSED', `round "${sub.roundId}" does not take partial sums`);
    const r = this.round!;
    r.bytesUp += bytes;
    if ('code' in verdict) {
      const e = ChorusError.from({ code: verdict.code, message: verdict.message });
      this.recordRejected(r, participantId, bytes, null, e);
      throw e;
    }
    try {
      this.checkExamples(participantId, sub.numExamples);
    } catch (err) {
      const e = ChorusError.from(err);
      this.recordRejected(r, participantId, bytes, verdict.l2Norm, e);
      throw e;
    }
    const p = r.partials.get(processId) ?? { count: 0, examples: 0 };
    r.partials.set(processId, { count: p.count + 1, examples: p.examples + sub.numExamples });
    return this.recordOutcome(r, participantId, sub, bytes, verdict.l2Norm, { accepted: true }, verdict.signature ?? null);
  }

  /** At close: the partial sums of the other processes, each checked against what this round admitted from it, and the adopted ones. */
  async collectPartials(r: OpenRound): Promise<ClientUpdate[]> {
    if (r.partials.size === 0) return [...r.adopted];
    if (!this.hooks.collectPartials) throw new ChorusError('INTERNAL', 'partial sums were admitted but nothing collects them');
    return [...r.adopted, ...(await this.hooks.collectPartials(this.stored.id, r.roundId, this.stored.layout, r.partials))];
  }

  /**
   * How many uploads for this round may run at once: the updates it still needs while it collects.
   * Otherwise no limit here: whether an upload is allowed at all is checkUpdate's answer, asked again
   * after the wait, and a round stage that takes uploads outside 'collecting' is not throttled.
   */
  openSlots(roundId: string, forProcess = LOCAL_PROCESS): number {
    const r = this.collecting(roundId);
    if (!r) return Infinity;
    // Several processes: what the others run counts against this one, or each would run the whole
    // remainder at once and the over-selected would upload in full to be refused (60 MB a round of
    // 1,000 at three processes). A report older than IN_FLIGHT_REPORT_MS no longer counts: a process
    // that went quiet must not hold slots it may have freed.
    const now = this.clock.now();
    let others = 0;
    for (const [processId, report] of r.uploadsInFlight) {
      if (processId !== forProcess && (processId === LOCAL_PROCESS || now - report.at <= IN_FLIGHT_REPORT_MS)) others += report.count;
    }
    return Math.max(0, this.config.rounds.targetClients - r.accepted - others);
  }

  /** openSlots as another process is told it: null for no limit. */
  openSlotsAnswer(roundId: string, forProcess: string): number | null {
    const open = this.openSlots(roundId, forProcess);
    return Number.isFinite(open) ? open : null;
  }

  /** The open round when it is `roundId` and collecting updates; undefined otherwise. */
  private collecting(roundId: string): OpenRound | undefined {
    const r = this.round;
    return this.phase === 'collecting' && r && r.roundId === roundId ? r : undefined;
  }

  /** Whether `roundId` is the round open now (in any stage). */
  holdsRound(roundId: string): boolean {
    return this.round?.roundId === roundId;
  }

  /** A process's uploads running for the open round (its upload gate's count); ignored for any other round. */
  reportUploads(processId: string, roundId: string, count: number): void {
    this.collecting(roundId)?.uploadsInFlight.set(processId, { count, at: this.clock.now() });
  }

  refuseUpload(participantId: string, roundId: string, error: ChorusError): void {
    const r = this.collecting(roundId);
    const sel = r?.selected.get(participantId);
    if (!r || !sel || sel.status !== 'invited') return;
    r.fail(participantId, { participantId, code: error.code as ClientFailure['code'], reason: error.message }, 'rejected');
    this.log.info({ round: r.round, participantId, code: error.code }, 'upload refused before it began');
    this.closeIfDone();
  }

  recordDownload(bytes: number): void {
    if (this.round && this.phase === 'collecting') this.round.bytesDown += bytes;
  }

  /** Resolves when persistence and aggregation started so far are done. */
  idle(): Promise<void> {
    return this.closer.idle();
  }
}
