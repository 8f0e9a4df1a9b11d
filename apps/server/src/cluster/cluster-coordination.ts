import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ChorusError, capabilitiesSchema, type ServerToClientEvents } from '@chorus/core';
import type { Coordination, CoordinatorAnswers, CoordinatorEvent, CoordinatorRequest, PartialSum } from '../rounds/coordination.js';
import type { PresentMember, RoundEngine } from '../rounds/round-engine.js';
import type { Storage } from '../storage/storage.js';
import { fromWirePartial, wirePartialSchema, type Announce, type AnnounceBody } from './bus-messages.js';
import { DeliveryBatch } from './delivery-batch.js';
import { ProcessBus } from './process-bus.js';
import { PresenceRegistry } from './presence-registry.js';
import { DEFAULT_LEASE_MS, TaskLeases, type HeldLease } from './task-lease.js';
import { SingleFlight } from '../single-flight.js';

/**
 * The longest the next round waits for the other processes to write a new version (delivered): a
 * process writes 10,000 sockets in about half a second on a busy 2-core machine; one that is gone or
 * stalled must not hold the task up for longer.
 */
export const DELIVERY_WAIT_MS = 3_000;

/** The most bytes of weights and strategy state a commit announcement carries (see committed). */
export const COMMIT_BYTES_ON_BUS = 4 * 1024 * 1024;

export interface ClusterOptions {
  readonly prefix: string;
  /** Unique per process start. */
  readonly processId: string;
  /** Lease time: another process takes a task over this long after its coordinator stops renewing. @default 3_000 */
  readonly leaseMs?: number;
  /** How long a forwarded request waits for the coordinator's answer. @default 10_000 */
  readonly askTimeoutMs?: number;
  readonly logger: Logger;
  /** Delivers a broadcast to this process's sockets (the socket transport's own broadcast). */
  readonly localBroadcast: <E extends keyof ServerToClientEvents>(taskId: string, event: E, msg: Parameters<ServerToClientEvents[E]>[0]) => void;
  /** Another process's round is over: this process's waiting upload begins for it are answered. */
  readonly localRoundClosed?: (roundId: string, reason: string) => void;
  /** Sends another process relayed: the socket transport queues those for its own sockets (SocketTransport.deliver). */
  readonly localDeliver?: (socketIds: readonly string[], event: keyof ServerToClientEvents, msg: unknown) => void;
}

/**
 * The round engine on several processes (Redis). One coordinator per task: the process holding the
 * task's lease (TaskLeases, with its fencing token raised in the database before it runs a round).
 * Every process watches the leases of the tasks it does not coordinate (one MGET every eighth of the
 * lease time, at most 100 ms: a few keys, cheap) and claims one as soon as it is free, so a coordinator killed with -9 is
 * replaced right after its lease expires; the new one reloads the last committed version and
 * restarts the round in flight. A slower lease round (every third of the lease time) also finds
 * tasks in the database and reconciles members with the presence registry.
 *
 * Participants stay on the process they connected to and are listed in the presence registry. Their
 * events go to the coordinator over the process bus (process-bus.ts): fire-and-forget `tell`s, and
 * `ask`s addressed to the lease holder. Invites and other sends to sockets on other processes are
 * relayed over the bus (relay), as are the coordinator's broadcasts; "the task changed" (followers
 * reload their mirror) is announced to every process.
 */
export class ClusterCoordination implements Coordination {
  readonly leases: TaskLeases;
  readonly presence: PresenceRegistry;
  private readonly coordinating = new Set<string>();
  private readonly held = new Map<string, { lease: HeldLease; stopKeep: () => void }>();
  private readonly claiming = new SingleFlight<boolean>();
  private readonly bus: ProcessBus;
  private readonly leaseMs: number;
  private readonly log: Logger;
  private ticker: NodeJS.Timeout | null = null;
  private watcher: NodeJS.Timeout | null = null;
  /** Every task this process has loaded: the ones whose lease it watches. */
  private readonly known = new Set<string>();
  /** Rounds whose end this process announced (roundOver: once per round). */
  private readonly roundsOver = new Set<string>();
  private watching = false;
  /** Who has written each recent version (`taskId@version`) to its participants, and who waits for them all (delivered). */
  private readonly writtenBy = new Map<string, Set<string>>();
  private readonly deliveryWaits = new Map<string, () => void>();
  /** The processes beating now (their alive keys), refreshed every lease round: whom delivered waits for. */
  private live: ReadonlySet<string> = new Set();
  /** Sends for other processes' sockets made this turn (relay), published together at its end. */
  private readonly deliveries = new DeliveryBatch((items) => this.bus.announce({ t: 'deliver', items }));
  private presenceTimer: NodeJS.Timeout | null = null;
  private heart: NodeJS.Timeout | null = null;
  private reconciledAt = 0;
  private ticking = false;
  private closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly engine: RoundEngine,
    private readonly storage: Storage,
    private readonly options: ClusterOptions,
  ) {
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.leases = new TaskLeases(redis, { prefix: options.prefix, owner: options.processId, ttlMs: this.leaseMs });
    this.presence = new PresenceRegistry(redis, { prefix: options.prefix, processId: options.processId });
    this.log = options.logger.child({ component: 'cluster', processId: options.processId });
    this.bus = new ProcessBus(redis, { prefix: options.prefix, processId: options.processId, logger: this.log, ...(options.askTimeoutMs !== undefined ? { askTimeoutMs: options.askTimeoutMs } : {}) });
  }

  get processId(): string {
    return this.options.processId;
  }

  private aliveKey(processId: string): string {
    return `${this.options.prefix}:alive:${processId}`;
  }

  /** Subscribes to the bus; call before the engine loads its tasks. */
  async connect(): Promise<void> {
    await this.bus.connect({
      tell: (taskId, event) => {
        if (this.coordinates(taskId)) this.engine.handleEvent(taskId, event);
      },
      ask: (from, taskId, request) => this.engine.answer(taskId, request, from),
      announce: (a) => this.announced(a),
    });
  }

  /** Takes the leases it can get now, then keeps watching for free ones. */
  async startLeasing(): Promise<void> {
    // The heartbeat has its own timer: a slow lease round (a database query) must not make this process look dead.
    // Beats every tenth of the lease time and lives 0.6 of it: a stall of up to half the lease does not
    // make a live process look dead, and a killed one looks dead before its lease expires (so the new
    // coordinator does not select the dead process's participants).
    await this.heartbeat();
    this.heart = setInterval(() => void this.heartbeat().catch(() => undefined), Math.max(50, Math.floor(this.leaseMs / 10)));
    this.heart.unref();
    await this.tick();
    this.ticker = setInterval(() => void this.tick(), Math.max(50, Math.floor(this.leaseMs / 3)));
    this.ticker.unref();
    this.watcher = setInterval(() => void this.watchLeases(), Math.max(50, Math.min(100, Math.floor(this.leaseMs / 8))));
    this.watcher.unref();
    this.presenceTimer = setInterval(() => void this.presence.refresh().catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'presence refresh failed')), 5_000);
    this.presenceTimer.unref();
  }

  coordinates(taskId: string): boolean {
    return this.coordinating.has(taskId);
  }

  /** The tasks this process coordinates now (tests, logs). */
  coordinatedTasks(): string[] {
    return [...this.coordinating];
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.closed) return;
    this.ticking = true;
    try {
      await this.refreshLive();
      await this.reconcile();
      // Tasks created on another process whose announcement was missed are found in the database.
      for (const task of await this.storage.listTasks()) {
        if (this.closed) return;
        await this.engine.loadTask(task.id);
        this.known.add(task.id);
        if (!this.held.has(task.id)) await this.claim(task.id);
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'lease round failed (will retry)');
    } finally {
      this.ticking = false;
    }
  }

  /** Claims the known tasks whose lease nobody holds (a coordinator died or gave it back). */
  private async watchLeases(): Promise<void> {
    if (this.watching || this.closed) return;
    this.watching = true;
    try {
      const candidates = [...this.known].filter((id) => !this.held.has(id) && !this.claiming.has(id));
      for (const taskId of await this.leases.free(candidates)) {
        if (this.closed) return;
        void this.claim(taskId);
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'watching the task leases failed (will retry)');
    } finally {
      this.watching = false;
    }
  }

  /** Tries to get the task's lease and take the task over; true when this process coordinates it. */
  claim(taskId: string): Promise<boolean> {
    return this.claiming.run(taskId, () => this.takeOver(taskId));
  }

  private async takeOver(taskId: string): Promise<boolean> {
    if (this.closed || this.held.has(taskId)) return this.coordinating.has(taskId);
    const lease = await this.leases.acquire(taskId);
    if (!lease) return false;
    const stopKeep = this.leases.keep(lease, (reason) => this.lose(taskId, lease, reason));
    this.held.set(taskId, { lease, stopKeep });
    try {
      // Activated only if the lease is still ours when the runner is switched in.
      await this.engine.takeOver(
        taskId,
        lease.token,
        () => this.membersElsewhere(taskId),
        () => this.held.get(taskId)?.lease === lease && this.coordinating.add(taskId),
        (roundId) => this.partialsLeftOf(taskId, roundId),
      );
      if (!this.coordinating.has(taskId)) {
        // Lost while taking over: the runner just installed must not run rounds.
        await this.engine.stepDown(taskId);
        return false;
      }
      this.log.info({ taskId, fence: lease.token }, 'coordinating the task');
      return true;
    } catch (err) {
      stopKeep();
      this.held.delete(taskId);
      this.coordinating.delete(taskId);
      await this.leases.release(lease).catch(() => undefined);
      if (err instanceof ChorusError && err.code === 'NOT_TASK_OWNER') {
        // The database's fence is ahead of Redis's token counter (Redis restarted empty): resume the
        // counter from the fence, so the next lease round gets a token the database accepts.
        const fence = await this.storage.fenceToken(taskId).catch(() => 0);
        await this.leases.resumeTokensFrom(taskId, fence).catch(() => undefined);
        this.log.warn({ taskId, token: lease.token, fence }, 'lease token below the database fence (Redis lost its counter): resuming tokens from the fence');
        return false;
      }
      this.log.error({ err, taskId }, 'taking the task over failed; giving its lease back');
      return false;
    }
  }

  private lose(taskId: string, lease: HeldLease, reason: string): void {
    if (this.held.get(taskId)?.lease !== lease) return;
    this.held.delete(taskId);
    this.coordinating.delete(taskId);
    this.log.warn({ taskId, reason }, 'lost the task lease: its rounds stop here');
    void this.engine.stepDown(taskId);
  }

  /** The task's participants connected to the other processes, and whether their process is alive (a killed one stops beating at once). */
  private async elsewhere(taskId: string): Promise<{ participantId: string; connectionId: string; alive: boolean }[]> {
    const all = (await this.presence.list(taskId)).filter((p) => p.processId !== this.processId);
    const processes = [...new Set(all.map((p) => p.processId))];
    const alive = new Set<string>();
    if (processes.length > 0) {
      const flags = await this.redis.mget(...processes.map((p) => this.aliveKey(p)));
      processes.forEach((p, i) => flags[i] !== null && alive.add(p));
    }
    return all.map((p) => ({ participantId: p.participantId, connectionId: p.connectionId, alive: alive.has(p.processId) }));
  }

  /**
   * What the live processes (this one too) hold of a round the dead coordinator left open: each one's
   * partial sum as folded now (the answers its uploads still wait for will never come). A process
   * that does not answer keeps its sum; the new coordinator asks its participants again instead.
   */
  private async partialsLeftOf(taskId: string, roundId: string): Promise<PartialSum[]> {
    const processes = new Set((await this.presence.list(taskId)).map((p) => p.processId));
    processes.add(this.processId);
    const sums = await Promise.all(
      [...processes].map((p) =>
        (p === this.processId ? (this.engine.answer(taskId, { kind: 'partial', roundId, admitted: 0 }) as Promise<PartialSum>) : this.partialOf(p, taskId, roundId, 0)).catch((err: unknown) => {
          this.log.info({ taskId, roundId, processId: p, err: (err as Error).message }, 'no partial sum of the abandoned round from this process');
          return null;
        }),
      ),
    );
    return sums.filter((p): p is PartialSum => p !== null && p.count > 0);
  }

  /** The capabilities a participant joined with (stored at its join), or null. */
  private readonly capabilitiesOf = (taskId: string) => async (participantId: string) => {
    const caps = capabilitiesSchema.safeParse((await this.storage.getParticipant(taskId, participantId))?.capabilities);
    return caps.success ? caps.data : null;
  };

  /** The participants on the other live processes, with their capabilities: a new coordinator's members. */
  private async membersElsewhere(taskId: string): Promise<PresentMember[]> {
    const out: PresentMember[] = [];
    const live = (await this.elsewhere(taskId)).filter((p) => p.alive);
    // One query per 2,000 (not one per participant): thousands of participants must not hold up the restarted round.
    for (let i = 0; i < live.length; i += 2_000) {
      const batch = live.slice(i, i + 2_000);
      const stored = new Map((await this.storage.getParticipants(taskId, batch.map((p) => p.participantId))).map((p) => [p.id, p.capabilities]));
      for (const p of batch) {
        const caps = capabilitiesSchema.safeParse(stored.get(p.participantId));
        if (caps.success) out.push({ participantId: p.participantId, connectionId: p.connectionId, capabilities: caps.data });
      }
    }
    return out;
  }

  /** Every coordinated task's members against the presence registry (a dead process's participants leave its rounds). */
  private async reconcile(): Promise<void> {
    // At most once per lease time: each costs one registry read per coordinated task.
    if (Date.now() - this.reconciledAt < this.leaseMs) return;
    this.reconciledAt = Date.now();
    for (const taskId of this.coordinating) await this.engine.reconcile(taskId, await this.elsewhere(taskId), this.capabilitiesOf(taskId));
  }

  /** The processes whose alive key exists (a SCAN over this prefix's few alive keys). */
  private async refreshLive(): Promise<void> {
    const found = new Set<string>();
    const head = this.aliveKey('');
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${head}*`, 'COUNT', 1000);
      for (const k of keys) found.add(k.slice(head.length));
      cursor = next;
    } while (cursor !== '0');
    found.add(this.processId);
    this.live = found;
  }

  /** This process is alive: its presence entries count (refreshed well within its lifetime). */
  private async heartbeat(): Promise<void> {
    await this.redis.set(this.aliveKey(this.processId), '1', 'PX', Math.ceil(this.leaseMs * 0.6));
  }

  // ---- Coordination: what the engine calls ----

  present(taskId: string, participantId: string, connectionId: string, joined: boolean): void {
    const write = joined ? this.presence.add(taskId, participantId, connectionId) : this.presence.remove(taskId, participantId);
    write.catch((err: unknown) => this.log.warn({ err: (err as Error).message, taskId }, 'presence write failed'));
  }

  tell(taskId: string, event: CoordinatorEvent): void {
    this.bus.tell(taskId, event);
  }

  async ask<K extends CoordinatorRequest['kind']>(taskId: string, request: Extract<CoordinatorRequest, { kind: K }>, onAnswer?: (answer: CoordinatorAnswers[K]) => void): Promise<CoordinatorAnswers[K]> {
    await this.claiming.pending(taskId);
    let holder = await this.leases.holder(taskId);
    // Nobody coordinates the task (it was just created, or its coordinator died): an operator's
    // action makes this process take it over rather than wait for the next lease round.
    if (!holder && request.kind === 'admin' && (await this.claim(taskId))) holder = { owner: this.processId, token: 0 };
    if (!holder) throw new ChorusError('UNAVAILABLE', `task "${taskId}" has no coordinator at the moment (a server process is taking it over): try again`);
    if (holder.owner === this.processId) {
      if (!this.coordinates(taskId)) throw new ChorusError('UNAVAILABLE', `task "${taskId}" is being taken over by this server process: try again`);
      const answer = (await this.engine.answer(taskId, request)) as CoordinatorAnswers[K];
      onAnswer?.(answer);
      return answer;
    }
    // Reads wait briefly: a summary has the mirror to answer instead when the coordinator is slow or
    // gone, and a refresh of open slots is asked again in REFRESH_MS anyway.
    const timeoutMs = request.kind === 'summary' || request.kind === 'slots' ? 1_000 : undefined;
    return (await this.bus.request(holder.owner, taskId, request, `task "${taskId}": its coordinator`, onAnswer as ((a: unknown) => void) | undefined, timeoutMs)) as CoordinatorAnswers[K];
  }

  async partialOf(processId: string, taskId: string, roundId: string, admitted?: number): Promise<PartialSum> {
    const answer = this.bus.request(processId, taskId, { kind: 'partial', roundId, ...(admitted !== undefined ? { admitted } : {}) }, `server process ${processId}`);
    // A process that stopped beating took its partial sum with it: say so as soon as Redis does rather
    // than after the timeout. Checked beside the request, not before it: on a busy coordinator that
    // round trip held every request of a close back by tens of milliseconds.
    const raw = processId === this.processId ? await answer : await Promise.race([answer, this.gone(processId)]);
    const wire = wirePartialSchema.safeParse(raw);
    if (!wire.success) throw new ChorusError('BAD_REQUEST', `server process ${processId} answered something that is not a partial sum`);
    return fromWirePartial(wire.data);
  }

  /** Rejects when the process has stopped beating; otherwise never settles. */
  private async gone(processId: string): Promise<never> {
    if ((await this.redis.exists(this.aliveKey(processId))) === 0) {
      throw new ChorusError('UNAVAILABLE', `server process ${processId} is gone, and with it the partial sum of its uploads`);
    }
    return new Promise<never>(() => undefined);
  }

  changed(taskId: string): void {
    this.bus.announce({ t: 'changed', taskId });
  }

  /**
   * A round committed a version: the other processes' mirrors follow it in place (the weights and
   * strategy state travel with the announcement up to COMMIT_BYTES_ON_BUS; a bigger model's mirrors
   * read it from the database). Redis closes a subscriber whose pending output passes 32 MB, and a
   * CNN with a server optimizer's moments is ~20 MB: those stay off the bus.
   */
  committed(taskId: string, c: { version: number; round: number; global: Float32Array; strategyState: Uint8Array | null }): void {
    const weights = new Uint8Array(c.global.buffer, c.global.byteOffset, c.global.byteLength);
    const small = weights.byteLength + (c.strategyState?.byteLength ?? 0) <= COMMIT_BYTES_ON_BUS;
    this.bus.announce({ t: 'committed', taskId, version: c.version, round: c.round, ...(small ? { weights, strategyState: c.strategyState } : {}) });
  }

  created(taskId: string): void {
    this.bus.announce({ t: 'created', taskId });
    this.known.add(taskId);
    // The process that created the task offers to coordinate it at once.
    void this.claim(taskId);
  }

  /** The coordinator's broadcast, for the sockets of the other processes (this one delivered it already). */
  broadcast<E extends keyof ServerToClientEvents>(taskId: string, event: E, msg: Parameters<ServerToClientEvents[E]>[0]): void {
    if (event !== 'model:updated' && event !== 'task:status' && event !== 'round:cancel') return;
    this.bus.announce({ t: 'broadcast', taskId, event, msg } as AnnounceBody);
  }

  /** This process wrote `version` of the task to all its participants: the coordinator hears of it. */
  versionWritten(taskId: string, version: number): void {
    this.noteWritten(taskId, version, this.processId);
    this.bus.announce({ t: 'written', taskId, version });
  }

  private noteWritten(taskId: string, version: number, processId: string): void {
    const key = `${taskId}@${version}`;
    let by = this.writtenBy.get(key);
    if (!by) {
      this.writtenBy.set(key, (by = new Set()));
      // A few dozen recent versions are plenty: only the one just committed is waited for.
      if (this.writtenBy.size > 64) this.writtenBy.delete(this.writtenBy.keys().next().value!);
    }
    by.add(processId);
    this.deliveryWaits.get(key)?.();
  }

  delivered(taskId: string, version: number): Promise<void> {
    const key = `${taskId}@${version}`;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.deliveryWaits.get(key) === check) this.deliveryWaits.delete(key);
        resolve();
      };
      const check = (): void => {
        const by = this.writtenBy.get(key);
        if (this.closed || (by && [...this.live].every((p) => by.has(p)))) done();
      };
      const timer = setTimeout(done, DELIVERY_WAIT_MS);
      timer.unref();
      this.deliveryWaits.set(key, check);
      check();
    });
  }

  /**
   * Sends to sockets this process does not hold (the socket transport's tap.relay). They go to every
   * process on the bus, in order with the broadcasts, and each writes those for its own sockets
   * through its emit queue: a follower still writing a new version to its 3,333 participants writes
   * the next round's invites after it, as one process would. Through the Redis adapter each invite
   * was a stream entry of its own that every process read and decoded, and the invites reached their
   * sockets during the broadcast, so the next round's downloads and uploads competed with it (a
   * close took up to twice as long; scale benchmark). One announcement per turn carries the turn's
   * sends; one message to many sockets (a round's invite) is one item (DeliveryBatch).
   */
  relay(socketIds: readonly string[], event: keyof ServerToClientEvents, msg: unknown): boolean {
    return this.deliveries.add(socketIds, event, msg);
  }

  /**
   * The coordinator told a participant its round is over (round:cancel): the other processes hear it
   * once per round, so begins waiting there for that round get ROUND_CLOSED at once instead of after
   * their gate's timeout (the send itself reaches the socket through the Redis adapter, not through
   * that process's code).
   */
  roundOver(taskId: string, roundId: string, reason: string): void {
    if (this.roundsOver.has(roundId)) return;
    this.roundsOver.add(roundId);
    // A few hundred ids is plenty to deduplicate one close's cancels; older ones may be told again.
    if (this.roundsOver.size > 512) this.roundsOver.delete(this.roundsOver.values().next().value!);
    this.bus.announce({ t: 'round-over', taskId, roundId, reason: reason.slice(0, 2000) } as AnnounceBody);
  }

  // ---- what other processes announce ----

  private async announced(a: Announce): Promise<void> {
    switch (a.t) {
      case 'changed':
        return this.engine.reload(a.taskId);
      case 'committed':
        return this.engine.followCommit(a.taskId, a.version, a.round, a.weights ?? null, a.strategyState ?? null);
      case 'created':
        await this.engine.loadTask(a.taskId);
        this.known.add(a.taskId);
        return;
      case 'broadcast':
        return this.options.localBroadcast(a.taskId, a.event, a.msg as never);
      case 'round-over':
        return this.options.localRoundClosed?.(a.roundId, a.reason);
      case 'written':
        return this.noteWritten(a.taskId, a.version, a.from);
      case 'deliver':
        for (const item of a.items) this.options.localDeliver?.(item.ids, item.event, item.msg);
        return;
    }
  }

  /** No more takeovers (shutting down): the engine can stop its tasks without one being taken back meanwhile. */
  stopLeasing(): void {
    this.closed = true;
    // A round waiting for the other processes' broadcasts goes on now (its task is stopping anyway).
    for (const check of [...this.deliveryWaits.values()]) check();
    if (this.ticker) clearInterval(this.ticker);
    if (this.watcher) clearInterval(this.watcher);
    if (this.presenceTimer) clearInterval(this.presenceTimer);
    if (this.heart) clearInterval(this.heart);
  }

  /** Stops leasing and gives every held lease back, so another process takes the tasks over at once. */
  async close(): Promise<void> {
    this.stopLeasing();
    for (const [, h] of this.held) {
      h.stopKeep();
      await this.leases.release(h.lease).catch(() => undefined);
    }
    this.held.clear();
    this.coordinating.clear();
    this.bus.close();
    await this.redis.del(this.aliveKey(this.processId)).catch(() => undefined);
  }
}
