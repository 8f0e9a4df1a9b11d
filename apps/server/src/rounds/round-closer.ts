import { ChorusError, type AggregateResult } from '@chorus/core';
import type { RoundClose, StoredReceipt } from '../storage/storage.js';
import type { OpenRound } from './open-round.js';
import type { TaskRunner } from './task-runner.js';

export type CloseCause = 'target' | 'deadline' | 'settled';

const CANCEL_REASONS: Record<CloseCause, string> = {
  target: 'the round reached its target number of updates',
  deadline: 'the round deadline passed',
  settled: 'the round closed',
};

/** Only finite metrics travel (the protocol schema rejects others), at most 32 of them. */
function wireMetrics(metrics: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter(([, v]) => Number.isFinite(v)).slice(0, 32));
}

/**
 * The closing half of a round: abandon, or aggregate → new version → checkpoint → evaluate →
 * broadcast. Persistence runs through one ordered queue per task, so a slower (future) database
 * cannot reorder "round opened" after "round committed".
 */
export class RoundCloser {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly inflight = new Set<Promise<unknown>>();

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

  closeIfDone(): void {
    const r = this.runner.round;
    if (this.runner.phase !== 'collecting' || !r) return;
    if (r.accepted >= this.runner.config.rounds.targetClients) void this.close('target');
    else if (r.settled()) void this.close('settled');
  }

  close(cause: CloseCause): Promise<void> {
    const r = this.runner.round;
    if (this.runner.phase !== 'collecting' || !r) return Promise.resolve();
    const p = this.closeRound(r, cause);
    this.watch(p);
    return p;
  }

  private async closeRound(r: OpenRound, cause: CloseCause): Promise<void> {
    const runner = this.runner;
    runner.phase = 'aggregating';
    runner.clearTimers();
    for (const c of r.outstanding()) {
      if (cause === 'deadline') r.failures.set(c.participantId, { clientId: c.participantId, code: 'DEADLINE', reason: 'no update arrived before the round deadline' });
      runner.deps.transport.send(c.connectionId, 'round:cancel', { taskId: r.taskId, roundId: r.roundId, reason: CANCEL_REASONS[cause] });
    }
    runner.roundClosed();
    const min = runner.config.rounds.minClients;
    if (r.accepted < min) {
      await this.abandon(`only ${r.accepted} of the minimum ${min} updates arrived before the round closed`, true);
      return;
    }
    let result: AggregateResult | null;
    try {
      result = r.aggregator.finish([...r.failures.values()]);
    } catch (err) {
      await this.abandon(`aggregation failed: ${ChorusError.from(err).message}`, true);
      return;
    }
    if (!result) {
      await this.abandon('the strategy produced no update', true);
      return;
    }
    await this.commit(r, result);
  }

  private facts(r: OpenRound, metrics: Readonly<Record<string, number>>, receipts: readonly StoredReceipt[] = r.receipts): RoundClose {
    return { taskId: r.taskId, round: r.round, closedAt: this.runner.clock.now(), participants: r.accepted, failures: [...r.failures.values()], bytesUp: r.bytesUp, bytesDown: r.bytesDown, metrics, receipts };
  }

  /** Ends the current round without a new version; receipts and the reason are kept. */
  async abandon(reason: string, retry: boolean): Promise<void> {
    const runner = this.runner;
    const r = runner.round;
    if (!r) return;
    if (runner.phase === 'collecting') {
      runner.phase = 'aggregating';
      runner.clearTimers();
      for (const c of r.outstanding()) runner.deps.transport.send(c.connectionId, 'round:cancel', { taskId: r.taskId, roundId: r.roundId, reason: `round abandoned: ${reason}` });
      runner.roundClosed();
    }
    runner.round = null;
    try {
      await this.persist(() => runner.deps.storage.abandonRound(this.facts(r, r.summaryMetrics()), reason));
    } catch (err) {
      runner.log.error({ err, round: r.round }, 'could not record the abandoned round');
    }
    runner.log.warn({ round: r.round, reason, accepted: r.accepted, failures: r.failures.size }, 'round abandoned');
    runner.phase = 'idle';
    if (retry && runner.status === 'running') runner.retryLater();
  }

  private async commit(r: OpenRound, result: AggregateResult): Promise<void> {
    const runner = this.runner;
    const { deps, task } = runner;
    const next = runner.strategy.applyAggregate(runner.global, result, r.round);
    const version = runner.version + 1;
    let metrics: Record<string, number> = wireMetrics({ ...r.summaryMetrics(), ...result.metrics });
    const receipts = r.receipts.map((x) => (x.accepted && result.notes?.has(x.participantId) ? { ...x, reason: result.notes.get(x.participantId)! } : x));
    const checkpoint = {
      taskId: task.id,
      version,
      round: r.round,
      payload: deps.payload.encode({ layout: task.layout, values: next }, 'float32'),
      strategyState: runner.strategy.exportState(),
      metrics,
      createdAt: runner.clock.now(),
    };
    try {
      await this.persist(() => deps.storage.commitRound(this.facts(r, metrics, receipts), checkpoint));
    } catch (err) {
      runner.log.error({ err, round: r.round }, 'checkpoint failed; the global model stays at its last committed version');
      await this.abandon(`checkpoint failed: ${ChorusError.from(err).message}`, true);
      return;
    }
    runner.global = next;
    runner.version = version;
    runner.round = null;
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
    }
    deps.transport.broadcast(task.id, 'model:updated', { taskId: task.id, version, round: r.round, metrics });
    runner.phase = 'idle';
    const maxRounds = runner.config.rounds.maxRounds;
    if (maxRounds > 0 && version >= maxRounds && runner.status === 'running') {
      await runner.setStatus('completed');
      return;
    }
    const interval = runner.config.rounds.roundIntervalMs;
    if (interval > 0) runner.retryLater(interval);
    else runner.enterWaiting();
  }
}
