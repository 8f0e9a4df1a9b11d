import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import { ChorusError, createSeededRandom, encodeModelStep, firstNonFinite, roundCodecSeed, type AggregateResult, type ClientUpdate, type Strategy } from '@chorus/core';
import type { RoundClose, StoredReceipt, StoredTask } from '../storage/storage.js';
import type { Clock, TimerHandle } from './clock.js';
import type { EngineDeps } from './engine-deps.js';
import type { OpenRound } from './open-round.js';
import type { RoundCommitted, RoundOutcome } from './round-outcome.js';

/**
 * Yields one turn of the event loop. Building a version is several steps of tens of milliseconds
 * each for the 2NN on a busy machine (apply, encode the int8 difference, encode the checkpoint):
 * run back to back they held timers and /healthz ~100 ms; the model is this closer's alone meanwhile.
 */

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

/**
 * What the closer needs from the task it closes rounds for. Reads only: every change to the task's
 * round state goes back through `apply` as a RoundOutcome (the task runner implements this).
 */
export interface RoundCloserHost {
  readonly log: Logger;
  readonly clock: Clock;
  readonly deps: EngineDeps;
  readonly strategy: Strategy;
  /** The fencing token of this process's lease (several processes): a commit carrying a stale one is refused. */
  readonly fence?: number | undefined;
  /**
   * Several processes: the partial sums of the round's uploads that other processes received and
   * folded (hierarchical aggregation), to add to the round's aggregator. Absent: none.
   */
  collectPartials?(r: OpenRound): Promise<ClientUpdate[]>;
  /** The task as stored now (id, layout, and the topology central evaluation rebuilds). */
  task(): StoredTask;
  /** The global model the closing round's updates are deltas from. */
  model(): { readonly version: number; readonly global: Float32Array };
  /** The round's clients may now be free for other tasks. */
  roundClosed(): void;
  /** A close came to an outcome: the host applies it. */
  apply(outcome: RoundOutcome): void;
  /** The committed version was evaluated and announced: the host opens its next round or completes. */
  published(outcome: RoundCommitted): Promise<void>;
}

/** One attempt at closing a round; the watchdog marks it stale when it outlives its deadline. */
interface Closing {
  readonly round: OpenRound;
  stale: boolean;
  watchdog: TimerHandle | null;
  /** Where the close's time went (ms), logged with the committed version. */
  readonly timings: Record<string, number>;
}

/**
 * The closing half of a round: abandon, or aggregate → new version → checkpoint → evaluate →
 * broadcast. Any step may fail: a failure before the checkpoint abandons the round with its reason
 * (the last good version stays), one after it is logged, and either way the task goes on to its
 * next round. A watchdog abandons a close that outlives `closeTimeoutMs` (a hung database or
 * evaluator), so no task can stay in 'aggregating'. Persistence runs through one ordered queue per
 * task, so a slower database cannot reorder "round opened" after "round committed".
 *
 * The closer never writes the task's state: it hands each outcome (committed with the new version,
 * or abandoned with a reason) to its host, which applies it.
 */
export class RoundCloser {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly inflight = new Set<Promise<unknown>>();
  private closing: Closing | null = null;

  constructor(private readonly host: RoundCloserHost) {}

  /** Queues a write; failures are logged (the round engine keeps running). */
  track(write: () => Promise<unknown>): void {
    const p = this.queue.then(write).catch((err: unknown) => this.host.log.error({ err }, 'storage write failed'));
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
      this.host.log.error({ err }, `${what} failed`);
    }
  }

  /** Closes a round the host has just moved to 'aggregating': aggregate, commit or abandon. */
  close(r: OpenRound, cause: CloseCause): Promise<void> {
    // Several processes: the partial sums are asked for before anything else this close does. Asked
    // after the round's cancels (hundreds of sends, relayed to the other processes) and the turns
    // they take, the requests left 80–110 ms into a 1,000-update close; asked first, the other
    // processes answer while this one tells its outstanding clients.
    const partials = r.accepted >= this.host.task().config.rounds.minClients ? this.collectPartials(r) : null;
    const closing = this.beginClosing(r, CANCEL_REASONS[cause], cause === 'deadline');
    const p = this.closeRound(closing, partials).catch((err: unknown) => this.fail(closing, `closing the round failed: ${ChorusError.from(err).message}`, err));
    this.watch(p);
    return p;
  }

  /** The host moved the round to 'aggregating': outstanding clients are told, the watchdog is armed. */
  private beginClosing(r: OpenRound, reason: string, deadline: boolean): Closing {
    const host = this.host;
    for (const c of r.outstanding()) {
      if (deadline) r.failures.set(c.participantId, { participantId: c.participantId, code: 'DEADLINE', reason: 'no update arrived before the round deadline' });
      this.safely('round:cancel', () => host.deps.transport.send(c.connectionId, 'round:cancel', { taskId: r.taskId, roundId: r.roundId, reason }));
    }
    this.safely('the round-closed hook', () => host.roundClosed());
    const closing: Closing = { round: r, stale: false, watchdog: null, timings: {} };
    const timeoutMs = host.deps.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    closing.watchdog = host.clock.setTimer(() => {
      closing.watchdog = null;
      if (this.closing !== closing) return;
      host.log.error({ round: r.round, timeoutMs }, 'round close outlived its deadline: abandoning it');
      closing.stale = true;
      void this.settle(closing, `closing the round took longer than ${timeoutMs} ms`, true);
    }, timeoutMs);
    this.closing = closing;
    return closing;
  }

  /** The round's partial sums from the other processes (none on one process), settled: closeRound handles a failure in order. */
  private async collectPartials(r: OpenRound): Promise<{ readonly partials: ClientUpdate[]; readonly ms: number } | { readonly error: unknown }> {
    const t0 = performance.now();
    try {
      return { partials: (await this.host.collectPartials?.(r)) ?? [], ms: Math.round(performance.now() - t0) };
    } catch (error) {
      return { error };
    }
  }

  private async closeRound(closing: Closing, collecting: ReturnType<RoundCloser['collectPartials']> | null): Promise<void> {
    const r = closing.round;
    const min = this.host.task().config.rounds.minClients;
    // No collection was started (see close): fewer than the minimum were accepted.
    if (!collecting) return this.fail(closing, `only ${r.accepted} of the minimum ${min} updates arrived before the round closed`);
    const collected = await collecting;
    if ('error' in collected) return this.fail(closing, `the partial sums of other server processes could not be collected: ${ChorusError.from(collected.error).message}`, collected.error);
    const { partials } = collected;
    if (partials.length > 0) closing.timings.partialsMs = collected.ms;
    if (closing.stale || this.closing !== closing) return;
    let result: AggregateResult | null;
    try {
      for (const p of partials) {
        const added = r.aggregator.add(p);
        if (added.status !== 'accepted') throw new ChorusError(added.code, `the partial sum ${p.participantId} was refused: ${added.reason}`);
      }
      result = r.aggregator.finish([...r.failures.values()]);
      // The aggregator counted each partial sum once; the round counted every update in it.
      if (result && partials.length > 0) result = { ...result, metrics: { ...result.metrics, clients: r.accepted } };
    } catch (err) {
      return this.fail(closing, `aggregation failed: ${ChorusError.from(err).message}`, err);
    }
    if (!result) return this.fail(closing, 'the strategy produced no update');
    await this.commit(closing, result);
  }

  private facts(r: OpenRound, metrics: Readonly<Record<string, number>>, receipts: readonly StoredReceipt[] = r.receipts): RoundClose {
    return { taskId: r.taskId, round: r.round, closedAt: this.host.clock.now(), participants: r.accepted, failures: [...r.failures.values()], bytesUp: r.bytesUp, bytesDown: r.bytesDown, metrics, receipts };
  }

  /** Ends a round the host has just moved to 'aggregating' without a new version (operator pause/stop, shutdown); receipts and the reason are kept. */
  async abandon(r: OpenRound, reason: string, retry: boolean): Promise<void> {
    await this.settle(this.beginClosing(r, `round abandoned: ${reason}`, false), reason, retry);
  }

  /** A round that cannot commit: logged and recorded; the task retries after the usual pause. */
  private async fail(closing: Closing, reason: string, err?: unknown): Promise<void> {
    if (err !== undefined) this.host.log.error({ err, round: closing.round.round, reason }, 'round close step failed');
    if (closing.stale || this.closing !== closing) return;
    await this.settle(closing, reason, true);
  }

  /**
   * The one way out of 'aggregating' without a new version: the round is recorded as abandoned (a
   * failure to record it is logged, never thrown) and the task waits for its next round.
   * `retry`: open the next round after the engine's retry delay (false: operator pause/stop, shutdown).
   */
  private async settle(closing: Closing, reason: string, retry: boolean): Promise<void> {
    const host = this.host;
    const r = closing.round;
    this.disarm(closing);
    host.log.warn({ round: r.round, reason, accepted: r.accepted, failures: r.failures.size }, 'round abandoned');
    // A timed-out close may sit behind a hung write: record it without waiting.
    const record = () => host.deps.storage.abandonRound(this.facts(r, r.summaryMetrics()), reason);
    try {
      if (closing.stale) this.track(record);
      else await this.persist(record);
    } catch (err) {
      host.log.error({ err, round: r.round }, 'could not record the abandoned round (retrying in the background)');
      this.recordLater(record, r.round, 1);
    }
    host.apply({ kind: 'abandoned', round: r.round, reason, retry });
  }

  /**
   * An abandoned round the database did not hear of (it was unreachable) would stay "collecting"
   * there for good: its record is retried, 1 s, 2 s, 4 s … apart (at most 30 s), 12 times at most.
   */
  private recordLater(record: () => Promise<unknown>, round: number, attempt: number): void {
    if (attempt > 12) return;
    this.host.clock.setTimer(() => {
      this.persist(record).then(
        () => this.host.log.info({ round, attempt }, 'abandoned round recorded after all'),
        () => this.recordLater(record, round, attempt + 1),
      );
    }, Math.min(30_000, 1_000 * 2 ** (attempt - 1)));
  }

  private disarm(closing: Closing): void {
    if (closing.watchdog) this.host.clock.clearTimer(closing.watchdog);
    closing.watchdog = null;
    if (this.closing === closing) this.closing = null;
  }

  private async commit(closing: Closing, result: AggregateResult): Promise<void> {
    const host = this.host;
    const { deps, strategy } = host;
    const task = host.task();
    const r = closing.round;
    let next: Float32Array;
    let checkpoint;
    let metrics: Record<string, number>;
    let receipts: StoredReceipt[];
    let delta: Uint8Array | undefined;
    const built = performance.now();
    try {
      const model = host.model();
      next = strategy.applyAggregate(model.global, result, r.round);
      await nextTurn();
      // The last line of defence: whatever the strategy did, a non-finite model is never committed.
      const bad = firstNonFinite(next);
      if (bad >= 0) throw new ChorusError('NON_FINITE', `the new model's value #${bad} is ${next[bad]}`);
      // The version is the old one plus the decoded difference, so clients that apply it match exactly
      // (a task stored before downloadCodec existed keeps exact versions).
      const downloadCodec = task.config.downloadCodec ?? 'full';
      if (downloadCodec !== 'full') {
        // Rounding seeded by the version (not the selection's source): a version is reproducible, and
        // a seeded simulation selects the same clients whatever the download codec.
        const seed = roundCodecSeed(`${task.id}@${model.version + 1}`);
        const step = encodeModelStep({ layout: task.layout, values: model.global }, next, downloadCodec, createSeededRandom(seed), seed);
        next = step.values;
        delta = step.delta;
        await nextTurn();
      }
      metrics = wireMetrics({ ...r.summaryMetrics(), ...result.metrics });
      receipts = r.receipts.map((x) => (x.accepted && result.notes?.has(x.participantId) ? { ...x, reason: result.notes.get(x.participantId)! } : x));
      checkpoint = {
        taskId: task.id,
        version: model.version + 1,
        round: r.round,
        payload: deps.payload.encode({ layout: task.layout, values: next }, 'float32'),
        strategyState: strategy.exportState(),
        metrics,
        createdAt: host.clock.now(),
        delta: delta ?? null,
      };
    } catch (err) {
      return this.fail(closing, `the new version could not be built: ${ChorusError.from(err).message}`, err);
    }
    const version = checkpoint.version;
    closing.timings.buildMs = Math.round(performance.now() - built);
    const persisted = performance.now();
    try {
      await this.persist(() => deps.storage.commitRound(this.facts(r, metrics, receipts), checkpoint, host.fence));
    } catch (err) {
      host.log.error({ err, round: r.round }, 'checkpoint failed; the global model stays at its last committed version');
      return this.fail(closing, `checkpoint failed: ${ChorusError.from(err).message}`);
    }
    // The database now holds the version, so the task takes it, even when the watchdog gave up on
    // this close meanwhile (then any round opened since is a delta from the old one).
    if (delta) deps.modelDeltas?.put(task.id, version, delta);
    const committed: RoundCommitted = { kind: 'committed', round: r.round, version, global: next, strategyState: checkpoint.strategyState, metrics, late: closing.stale };
    closing.timings.persistMs = Math.round(performance.now() - persisted);
    if (!closing.stale) host.log.info({ round: r.round, version, updates: r.accepted, failures: r.failures.size, ...closing.timings }, 'version committed');
    host.apply(committed);
    if (closing.stale) return;

    if (deps.evaluate) {
      try {
        const evaluated = wireMetrics(await deps.evaluate(task, next));
        await this.persist(() => deps.storage.addVersionMetrics(task.id, version, evaluated));
        metrics = wireMetrics({ ...metrics, ...evaluated });
        host.log.info({ round: r.round, version, ...evaluated }, 'central evaluation');
      } catch (err) {
        host.log.warn({ err, version }, 'central evaluation failed');
      }
      if (closing.stale) return; // the watchdog already moved the task on
    }
    this.disarm(closing);
    this.safely('broadcasting the new version', () => deps.transport.broadcast(task.id, 'model:updated', { taskId: task.id, version, round: r.round, metrics }));
    await host.published(committed);
  }
}
