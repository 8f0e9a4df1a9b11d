import { setImmediate as nextTurn } from 'node:timers/promises';
import { ChorusError, float32View, type Capabilities } from '@chorus/core';
import type { StoredTask } from '../storage/storage.js';
import type { AsyncTaskRunner } from './async-task-runner.js';
import type { PartialSum, PresentMember } from './coordination.js';
import type { EngineDeps } from './engine-deps.js';
import { TaskRunner } from './task-runner.js';

/** Members reconciled per turn of the event loop. */
const RECONCILE_SLICE = 1_000;

/** A task's state machine: rounds (TaskRunner) or buffered asynchronous aggregation (AsyncTaskRunner, mode 'async'). */
export type Runner = TaskRunner | AsyncTaskRunner;

/** A participant on another process as the presence registry lists it; `alive`: its process still beats. */
export interface PresenceEntry {
  readonly participantId: string;
  readonly connectionId: string;
  readonly alive: boolean;
}

/** What the handover needs of the round engine, which owns the runners and the connections. */
export interface HandoverHost {
  readonly deps: EngineDeps;
  readonly runners: Map<string, Runner>;
  coordinates(taskId: string): boolean;
  loadRunner(task: StoredTask, how: { abandon?: string; passive?: boolean; fence?: number; install?: boolean }): Promise<Runner>;
  /** This process's connections that joined the task, with what `from` knows of them. */
  localMembers(taskId: string, from: Runner | undefined): PresentMember[];
  pokeAll(): void;
}

/**
 * Several processes: a task changing hands. The process that gets the task's lease takes it over
 * (active runner), the one that loses it steps down, and every other process keeps a passive mirror
 * that reloads when the coordinator announces a change.
 */
export class TaskHandover {
  /** Reloads of a mirrored task, one after another per task. */
  private readonly reloads = new Map<string, Promise<void>>();

  constructor(private readonly host: HandoverHost) {}

  /**
   * This process got the task's lease: the fence is raised with its token (so a stale coordinator's
   * commit is refused from now on), the task is reloaded from its last committed version, the round
   * the old coordinator left open is abandoned, and the participants of every process (from
   * `present`, read last) become its members. `activate` runs in the same turn as the switch, so no
   * participant event falls between the old runner and the new one. `adopt` (several processes)
   * fetches the partial sums the live processes hold of the abandoned round: the restarted round
   * counts those updates instead of asking for them again (TaskRunner.adoptPartials).
   */
  async takeOver(taskId: string, fence: number, present: () => Promise<PresentMember[]>, activate: () => void, adopt?: (roundId: string) => Promise<PartialSum[]>): Promise<void> {
    const { storage } = this.host.deps;
    await storage.raiseFence(taskId, fence);
    const task = await storage.getTask(taskId);
    if (!task) throw new ChorusError('NOT_FOUND', `task "${taskId}" does not exist`);
    // The round the old coordinator left open (abandoned just below): its invitees are told, once this process runs the task.
    const [last] = await storage.listRounds(taskId, 1);
    const left = last?.state === 'collecting' ? last.roundId : null;
    // Whom it had invited: the restarted round asks them first (they hold the version already).
    const cohort = left !== null && last ? await storage.getRoundSelection?.(taskId, last.round).catch(() => null) : null;
    const reason = 'the task moved to another server process';
    const runner = await this.host.loadRunner(task, { abandon: reason, fence, install: false });
    if (cohort && 'resumeCohort' in runner) runner.resumeCohort(cohort.reasons.map((r) => r.participantId));
    const [remote, sums] = await Promise.all([
      present(),
      left !== null && adopt && 'adoptPartials' in runner
        ? adopt(left).catch((err: unknown) => {
            this.host.deps.logger.warn({ err, taskId, roundId: left }, 'the partial sums of the abandoned round could not be fetched: the round restarts from scratch');
            return [];
          })
        : Promise.resolve([]),
    ]);
    if (sums.length > 0 && last && 'adoptPartials' in runner) {
      try {
        const adopted = runner.adoptPartials(sums, last.version);
        this.host.deps.logger.info({ taskId, roundId: left, adopted, held: sums.reduce((n, p) => n + p.count, 0) }, 'adopted the abandoned round’s partial sums');
      } catch (err) {
        this.host.deps.logger.warn({ err, taskId, roundId: left }, 'the partial sums of the abandoned round were refused: the round restarts from scratch');
      }
    }
    const old = this.host.runners.get(taskId);
    const local = this.host.localMembers(taskId, old);
    const localIds = new Set(local.map((m) => m.participantId));
    const others = remote.filter((r) => !localIds.has(r.participantId));
    for (const m of [...local, ...others]) runner.addMember(m.participantId, m.connectionId, m.capabilities);
    this.host.runners.set(taskId, runner);
    activate();
    // Every process's sockets (the cluster relays it): participants still downloading or uploading for
    // the abandoned round stop at once instead of competing with the restarted round (others ignore it).
    if (left !== null && this.host.coordinates(taskId)) this.host.deps.transport.broadcast(taskId, 'round:cancel', { taskId, roundId: left, reason });
    void old?.shutdown().catch(() => undefined);
    if (runner.taskStatus() === 'running') runner.enterWaiting();
  }

  /**
   * The lease was lost (expired, taken over, Redis unreachable): rounds stop at once and nothing more
   * is committed (the fence refuses a close already under way); the task becomes a passive mirror.
   */
  async stepDown(taskId: string): Promise<void> {
    const old = this.host.runners.get(taskId);
    if (!old) return;
    const stopped = old.shutdown().catch((err: unknown) => this.host.deps.logger.warn({ err, taskId }, 'stopping the lost task failed'));
    await this.reload(taskId);
    await stopped;
  }

  /**
   * Another process coordinates the task and committed `version`: the mirror takes it in place
   * (TaskRunner.followCommit) with the weights that came with the announcement, or read from the
   * database. It reloads in full where it cannot follow: no mirror, an asynchronous task, a version
   * it missed, weights of the wrong size. Queued behind the task's reloads, so they stay in order.
   */
  followCommit(taskId: string, version: number, round: number, weights: Uint8Array | null, strategyState: Uint8Array | null): Promise<void> {
    const next = (this.reloads.get(taskId) ?? Promise.resolve()).then(async () => {
      if (this.host.coordinates(taskId)) return;
      const runner = this.host.runners.get(taskId);
      if (runner instanceof TaskRunner && runner.model().version === version - 1) {
        let global: Float32Array | null = null;
        let state = strategyState;
        // The bus frame gave the weights an ArrayBuffer of their own (bus-frames.ts): viewed, not copied again.
        if (weights && weights.byteLength % 4 === 0) global = float32View(weights);
        else {
          const stored = await this.host.deps.storage.getVersion(taskId, version);
          if (stored) {
            global = this.host.deps.payload.decode(stored.payload).values;
            state = stored.strategyState;
          }
        }
        if (global && !this.host.coordinates(taskId) && this.host.runners.get(taskId) === runner && runner.followCommit(version, round, global, state)) return;
      }
      await this.reloadNow(taskId);
    });
    const settled = next.catch((err: unknown) => this.host.deps.logger.warn({ err, taskId }, 'following the commit failed'));
    this.reloads.set(taskId, settled);
    return settled;
  }

  /** Another process coordinates the task and changed it: the mirror reloads the stored task and version. */
  reload(taskId: string): Promise<void> {
    const next = (this.reloads.get(taskId) ?? Promise.resolve()).then(() => this.reloadNow(taskId));
    const settled = next.catch((err: unknown) => this.host.deps.logger.warn({ err, taskId }, 'reloading the task failed'));
    this.reloads.set(taskId, settled);
    return settled;
  }

  private async reloadNow(taskId: string): Promise<void> {
    if (this.host.coordinates(taskId)) return;
    const task = await this.host.deps.storage.getTask(taskId);
    if (!task) return;
    const runner = await this.host.loadRunner(task, { passive: true, install: false });
    if (this.host.coordinates(taskId)) return; // taken over meanwhile
    for (const m of this.host.localMembers(taskId, this.host.runners.get(taskId))) runner.addMember(m.participantId, m.connectionId, m.capabilities);
    this.host.runners.set(taskId, runner);
  }

  /**
   * The coordinator's members against the presence registry (`elsewhere`: the participants on the
   * other processes, `alive` whether their process still beats). A member whose process died or
   * whose entry names another connection is removed (in an open round it counts as disconnected, so
   * the round need not wait out its deadline); a live participant whose join announcement was missed
   * (during a takeover) is added, with `capabilities` looked up. A member without an entry stays: its
   * leave comes as an event (the entry may only be newer than the registry read).
   */
  async reconcile(taskId: string, elsewhere: readonly PresenceEntry[], capabilities: (participantId: string) => Promise<Capabilities | null>): Promise<void> {
    const runner = this.host.runners.get(taskId);
    if (!runner || !this.host.coordinates(taskId)) return;
    // Still this task's runner on this process: checked again after every yield.
    const current = (): boolean => this.host.runners.get(taskId) === runner && this.host.coordinates(taskId);
    const local = new Set(this.host.localMembers(taskId, runner).map((m) => m.participantId));
    const entries = new Map(elsewhere.map((p) => [p.participantId, p]));
    let removed = 0;
    let step = 0;
    // 10,000 members are ~100 ms of work on a busy process: done in slices, so a reconcile that falls
    // on a round's close does not hold up the new version's broadcast (scale benchmark).
    for (const m of runner.memberConnections()) {
      if (++step % RECONCILE_SLICE === 0) {
        await nextTurn();
        if (!current()) return;
      }
      const e = entries.get(m.participantId);
      if (local.has(m.participantId) || !e || (e.alive && e.connectionId === m.connectionId)) continue;
      // Removed only while it still has that connection (removeMember checks), whatever happened during a yield.
      runner.removeMember(m.participantId, m.connectionId);
      removed += 1;
    }
    for (const p of elsewhere) {
      if (++step % RECONCILE_SLICE === 0) {
        await nextTurn();
        if (!current()) break;
      }
      if (!p.alive || local.has(p.participantId) || runner.hasMember(p.participantId)) continue;
      const caps = await capabilities(p.participantId);
      // Looked up asynchronously: add only if nothing changed meanwhile.
      if (caps && current() && !runner.hasMember(p.participantId)) runner.addMember(p.participantId, p.connectionId, caps);
    }
    if (removed > 0) this.host.pokeAll();
  }
}
