import { ChorusError, firstNonFinite, type AggregateResult } from '@chorus/core';
import type { RoundClose, StoredReceipt } from '../storage/storage.js';
import type { TimerHandle } from './clock.js';
import type { OpenRound } from './open-round.js';
import type { TaskRunner } from './task-runner.js';

export type CloseCause = 'target' | 'deadline' | 'settled';

const CANCEL_REASONS: Record<CloseCause, string> = {
  target: 'the round reached its target number of updates',
  deadline: 'the round deadline passed',
  settled: 'the round closed',
};

/** How long a round may stay in 'aggregating' before the watchdog abandons it. @default 120 s */
export const DEFAULT_CLOSE_TIMEOUT_MS = 120_000;

/** Only finite metrics travel (the protocol schema rejects others), at most 32 of them. */
function wireMetrics(metrics: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter(([, v]) => Number.isFinite(v)).slice(0, 32));
}

/** One attempt at closing a round; the watchdog marks it stale when it outlives its deadline. */
interface Closing {
  readonly round: OpenRound;
  stale: boolean;
  watchdog: TimerHandle | null;
}

/**
 * The closing half of a round: abandon, or aggregate → new version → checkpoint → evaluate →
 * broadcast. Any step may fail: a failure before the checkpoint abandons the round with its reason
 * (the last good version stays), one after it is logged, and either way the task goes on to its
 * next round. A watchdog abandons a close that outlives `closeTimeoutMs` (a hung database or
 * evaluator), so no task can stay in 'aggregating'. Persistence runs through one ordered queue per
 * task, so a slower database cannot reorder "round opened" after "round committed".
 */
export class RoundCloser {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly inflight = new Set<Promise<unknown>>();
  private closing: Closing | null = null;

  constructor(private readonly runner: TaskRunner) {}

  /** Queues a write; failures are logged (the round engine keeps running). */
  track(write: () => Promise<unknown>): void {
    const p = this.queue.then(write).catch((err: unknown) => this.runner.log.error({ err }, 'storage write failed'));
    this.queue = p;
    this.watch(p);
  }

  /** Queues a write whose failure the caller handles. */
  private persist(write: () => Promise<unknown>): Promise<unknown> {
    const p = this.queue.then(write);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private watch(p: Promise<unknown>): void {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p)).catch(() => undefined);
  }

  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
    await this.queue.catch(() => undefined);
  }

  /** Runs a step whose failure must not stop the round engine (telling clients, hooks). */
  private safely(what: string, step: () => void): void {
    try {
      step();
    } catch (err) {
      this.runner.log.error({ err }, `${what} failed`);
    }
  }

  closeIfDone(): void {
    const r = this.runner.round;
    if (this.runner.phase !== 'collecting' || !r) return;
    if (r.accepted >= this.runner.config.rounds.targetClients) void this.close('target');
    else if (r.settled()) void this.close('settled');
  }

  close(cause: CloseCause): Promise<void> {
    const r = this.runner.round;
    if (this.runner.phase !== 'collecting' || !r) return Promise.resolve();
    const closing = this.beginClosing(r, CANCEL_REASONS[cause], cause === 'deadline');
    const p = this.closeRound(closing).catch((err: unknown) => this.fail(closing, `closing the round failed: ${ChorusError.from(err).message}`, err));
    this.watch(p);
    return p;
  }

  /** collecting → aggregating: outstanding clients are told, the watchdog is armed. */
  private beginClosing(r: OpenRound, reason: string, deadline: boolean): Closing {
    const runner = this.runner;
    runner.phase = 'aggregating';
    runner.clearTimers();
    for (const c of r.outstanding()) {
      if (deadline) r.failures.set(c.participantId, { participantId: c.participantId, code: 'DEADLINE', reason: 'no update arrived before the round deadline' });
      this.safely('round:cancel', () => runner.deps.transport.send(c.connectionId, 'round:cancel', { taskId: r.taskId, roundId: r.roundId, reason }));
    }
    this.safely('the round-closed hook', () => runner.roundClosed());
    const closing: Closing = { round: r, stale: false, watchdog: null };
    const timeoutMs = runner.deps.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    closing.watchdog = runner.clock.setTimer(() => {
      closing.watchdog = null;
      if (this.closing !== closing) return;
      runner.log.error({ round: r.round, timeoutMs }, 'round close outlived its deadline: abandoning it');
      closing.stale = true;
      void this.settle(closing, `closing the round took longer than ${timeoutMs} ms`, true);
    }, timeoutMs);
    this.closing = closing;
    return closing;
  }

  private async closeRound(closing: Closing): Promise<void> {
    const r = closing.round;
    const min = this.runner.config.rounds.minClients;
    if (r.accepted < min) return this.fail(closing, `only ${r.accepted} of the minimum ${min} updates arrived before the round closed`);
    let result: AggregateResult | null;
    try {
      result = r.aggregator.finish([...r.failures.values()]);
    } catch (err) {
      return this.fail(closing, `aggregation failed: ${ChorusError.from(err).message}`, err);
    }
    if (!result) return this.fail(closing, 'the strategy produced no update');
    await this.commit(closing, result);
  }

  private facts(r: OpenRound, metrics: Readonly<Record<string, number>>, receipts: readonly StoredReceipt[] = r.receipts): RoundClose {
    return { taskId: r.taskId, round: r.round, closedAt: this.runner.clock.now(), participants: r.accepted, failures: [...r.failures.values()], bytesUp: r.bytesUp, bytesDown: r.bytesDown, metrics, receipts };
  }

  /** Ends the current round without a new version (operator pause/stop, shutdown); receipts and the reason are kept. */
  async abandon(reason: string, retry: boolean): Promise<void> {
    const r = this.runner.round;
    if (!r || this.runner.phase !== 'collecting') return;
    await this.settle(this.beginClosing(r, `round abandoned: ${reason}`, false), reason, retry);
  }

  /** A round that cannot commit: logged and recorded; the task retries after the usual pause. */
  private async fail(closing: Closing, reason: string, err?: unknown): Promise<void> {
    if (err !== undefined) this.runner.log.error({ err, round: closing.round.round, reason }, 'round close step failed');
    if (closing.stale || this.closing !== closing) return;
    await this.settle(closing, reason, true);
  }

  /**
   * The one way out of 'aggregating' without a new version: the round is recorded as abandoned (a
   * failure to record it is logged, never thrown) and the task waits for its next round.
   * `retry`: open the next round after the engine's retry delay (false: operator pause/stop, shutdown).
   */
  private async settle(closing: Closing, reason: string, retry: boolean): Promise<void> {
    const runner = this.runner;
    const r = closing.round;
    this.disarm(closing);
    if (runner.round === r) runner.round = null;
    runner.log.warn({ round: r.round, reason, accepted: r.accepted, failures: r.failures.size }, 'round abandoned');
    // A timed-out close may sit behind a hung write: record it without waiting.
    const record = () => runner.deps.storage.abandonRound(this.facts(r, r.summaryMetrics()), reason);
    try {
      if (closing.stale) this.track(record);
      else await this.persist(record);
    } catch (err) {
      runner.log.error({ err, round: r.round }, 'could not record the abandoned round');
    }
    if (runner.phase === 'aggregating') runner.phase = 'idle';
    if (retry && runner.status === 'running') runner.retryLater();
  }

  private disarm(closing: Closing): void {
    if (closing.watchdog) this.runner.clock.clearTimer(closing.watchdog);
    closing.watchdog = null;
    if (this.closing === closing) this.closing = null;
  }

  private async commit(closing: Closing, result: AggregateResult): Promise<void> {
    const runner = this.runner;
    const { deps, task } = runner;
    const r = closing.round;
    let next: Float32Array;
    let checkpoint;
    let metrics: Record<string, number>;
    let receipts: StoredReceipt[];
    try {
      next = runner.strategy.applyAggregate(runner.global, result, r.round);
      // The last line of defence: whatever the strategy did, a non-finite model is never committed.
      const bad = firstNonFinite(next);
      if (bad >= 0) throw new ChorusError('NON_FINITE', `the new model's value #${bad} is ${next[bad]}`);
      metrics = wireMetrics({ ...r.summaryMetrics(), ...result.metrics });
      receipts = r.receipts.map((x) => (x.accepted && result.notes?.has(x.participantId) ? { ...x, reason: result.notes.get(x.participantId)! } : x));
      checkpoint = {
        taskId: task.id,
        version: runner.version + 1,
        round: r.round,
        payload: deps.payload.encode({ layout: task.layout, values: next }, 'float32'),
        strategyState: runner.strategy.exportState(),
        metrics,
        createdAt: runner.clock.now(),
      };
    } catch (err) {
      return this.fail(closing, `the new version could not be built: ${ChorusError.from(err).message}`, err);
    }
    const version = checkpoint.version;
    try {
      await this.persist(() => deps.storage.commitRound(this.facts(r, metrics, receipts), checkpoint));
    } catch (err) {
      runner.log.error({ err, round: r.round }, 'checkpoint failed; the global model stays at its last committed version');
      return this.fail(closing, `checkpoint failed: ${ChorusError.from(err).message}`);
    }
    if (closing.stale) {
      // The watchdog gave up on this close, but its checkpoint did land: the database now holds the
      // version, so the runner takes it too (any round opened meanwhile is a delta from the old one).
      this.adoptLateVersion(version, next);
      return;
    }
    runner.global = next;
    runner.version = version;
    if (runner.round === r) runner.round = null;
    runner.log.info({ round: r.round, version, updates: r.accepted, failures: r.failures.size }, 'version committed');

    if (deps.evaluate) {
      try {
        const evaluated = wireMetrics(await deps.evaluate(task, next));
        await this.persist(() => deps.storage.addVersionMetrics(task.id, version, evaluated));
        metrics = wireMetrics({ ...metrics, ...evaluated });
        runner.log.info({ round: r.round, version, ...evaluated }, 'central evaluation');
      } catch (err) {
        runner.log.warn({ err, version }, 'central evaluation failed');
      }
      if (closing.stale) return; // the watchdog already moved the task on
    }
    this.disarm(closing);
    this.safely('broadcasting the new version', () => deps.transport.broadcast(task.id, 'model:updated', { taskId: task.id, version, round: r.round, metrics }));
    runner.phase = 'idle';
    const maxRounds = runner.config.rounds.maxRounds;
    if (maxRounds > 0 && version >= maxRounds && runner.status === 'running') {
      try {
        await runner.setStatus('completed');
      } catch (err) {
        runner.log.error({ err, version }, 'could not mark the task completed');
      }
      return;
    }
    const interval = runner.config.rounds.roundIntervalMs;
    if (interval > 0) runner.retryLater(interval);
    else runner.enterWaiting();
  }

  private adoptLateVersion(version: number, next: Float32Array): void {
    const runner = this.runner;
    if (runner.version !== version - 1) {
      runner.log.error({ version, current: runner.version }, 'a late checkpoint landed out of order: restart the server to reload the latest version');
      return;
    }
    runner.global = next;
    runner.version = version;
    runner.log.warn({ version }, 'a checkpoint landed after the watchdog abandoned its round: the global model moves to it');
    if (runner.round && runner.phase === 'collecting') void this.abandon('the global model moved on to a late checkpoint', true);
  }
}
