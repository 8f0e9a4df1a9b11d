import { randomUUID } from 'node:crypto';
import {
  ChorusError,
  PROTOCOL_VERSION,
  layoutSize,
  type Capabilities,
  type SecAggClientMessage,
  type JoinRequest,
  type JoinResponse,
  type TaskConfig,
  type TaskInfo,
  type Strategy,
  type TaskStatus,
  type TensorSpec,
  type UpdateBegin,
  type UpdateReceipt,
} from '@chorus/core';
import { taskPrivacyInfo } from './task-privacy-info.js';
import type { StoredTask } from '../storage/storage.js';
import { systemClock } from './clock.js';
import { createSelector } from './client-selection.js';
import type { EngineDeps } from './engine-deps.js';
import { LOCAL_PROCESS, TaskRunner, type Member } from './task-runner.js';
import { AsyncTaskRunner } from './async-task-runner.js';
import { TaskHandover, type PresenceEntry, type Runner } from './task-handover.js';
import type { RoundCommitted } from './round-outcome.js';
import type { TaskSummary } from './task-summary.js';
import type { AdminAction, Coordination, CoordinatorEvent, CoordinatorRequest, CoordinatorAnswers, PartialSum } from './coordination.js';
import { SingleFlight } from '../single-flight.js';
import { HierarchicalUploads } from './hierarchical-uploads.js';
import type { PresentMember } from './coordination.js';

export type { PresentMember } from './coordination.js';

export interface CreateTaskInput {
  readonly config: TaskConfig;
  /** Keras topology JSON of the model. */
  readonly topology: unknown;
  readonly layout: readonly TensorSpec[];
  /** Initial global weights (version 0). */
  readonly weights: Float32Array;
}

/**
 * Owns every task's round state machine and the map of connected participants. Transport-agnostic:
 * Socket.IO handlers call in with validated messages; the engine answers through EngineTransport.
 */
export class RoundEngine {
  private readonly runners = new Map<string, Runner>();
  /** Mirrors being loaded on first sight (loadTask), so concurrent requests share one load. */
  private readonly loading = new SingleFlight<void>();
  /** connection id → task id → participant id */
  private readonly connections = new Map<string, Map<string, string>>();
  readonly deps: EngineDeps;
  /** Several processes: who coordinates which task. Null: this process coordinates every task. */
  private coordination: Coordination | null = null;
  /** Taking tasks over, giving them up and following them (several processes). */
  private readonly handover: TaskHandover;
  /** Several processes: uploads for rounds coordinated elsewhere, validated and summed here. */
  private readonly uploads: HierarchicalUploads;
  /** This process's uploads running, by round (its upload gate's counts). */
  private readonly running = new Map<string, number>();
  /** Begins for a round whose check is on its way to the coordinator, by round. */
  private readonly checking = new Map<string, number>();

  constructor(deps: EngineDeps) {
    this.deps = { ...deps, clock: deps.clock ?? systemClock };
    this.uploads = new HierarchicalUploads(this.deps.payload, () => this.coordination!, (roundId) => this.uploadsHere(roundId));
    this.handover = new TaskHandover({
      deps: this.deps,
      runners: this.runners,
      coordinates: (taskId) => this.coordinates(taskId),
      loadRunner: (task, how) => this.loadRunner(task, how),
      localMembers: (taskId, from) => this.localMembers(taskId, from),
      pokeAll: () => this.pokeAll(),
    });
  }

  /**
   * Runs on several processes: a task's rounds run only where `coordination` says it holds the
   * task's lease (see takeOver / stepDown); elsewhere the task is a passive mirror for reads, and
   * participant events go to the coordinator. Call before init().
   */
  useCoordination(coordination: Coordination): void {
    this.coordination = coordination;
  }

  /** Whether the engine runs on several processes (a Coordination is in use). */
  get clustered(): boolean {
    return this.coordination !== null;
  }

  /** Whether this process runs the task's rounds (always, on one process). */
  coordinates(taskId: string): boolean {
    return this.coordination === null || this.coordination.coordinates(taskId);
  }

  /**
   * Loads every task from its latest committed version. One process: rounds left open by a crash are
   * abandoned and running tasks wait for clients. Several: every task starts as a passive mirror; the
   * coordination takes over the tasks whose leases it gets.
   */
  async init(): Promise<void> {
    for (const task of await this.deps.storage.listTasks()) {
      if (this.coordination) {
        await this.loadRunner(task, { passive: true });
        continue;
      }
      const runner = await this.loadRunner(task, { abandon: 'server restart' });
      if (runner.taskStatus() === 'running') runner.enterWaiting();
    }
  }

  /** A task stored by another process: loaded as a passive mirror (no-op when known; one load per task at a time). */
  loadTask(taskId: string): Promise<void> {
    if (this.runners.has(taskId)) return Promise.resolve();
    return this.loading.run(taskId, async () => {
      const task = await this.deps.storage.getTask(taskId);
      if (task && !this.runners.has(taskId)) await this.loadRunner(task, { passive: true });
    });
  }

  /**
   * Several processes: a task created on another process a moment ago may not be announced here yet.
   * Requests naming a task (HTTP routes, joins) call this first, so it is loaded from the database on
   * first sight rather than answered NOT_FOUND. One process: nothing to do.
   */
  async knowTask(taskId: string): Promise<void> {
    if (this.coordination && !this.runners.has(taskId)) await this.loadTask(taskId);
  }

  /** knowTask for every stored task (the task list). */
  async knowAllTasks(): Promise<void> {
    if (!this.coordination) return;
    for (const task of await this.deps.storage.listTasks()) await this.loadTask(task.id);
  }

  private async loadRunner(task: StoredTask, how: { abandon?: string; passive?: boolean; fence?: number; install?: boolean }): Promise<Runner> {
    const { storage, payload } = this.deps;
    const latest = await storage.latestVersion(task.id);
    if (!latest) throw new ChorusError('INTERNAL', `task "${task.id}" has no committed version`);
    const strategy = this.deps.createStrategy(task.config.strategy, task.layout);
    if (latest.strategyState) strategy.importState(latest.strategyState);
    const abandoned = how.abandon === undefined ? 0 : await storage.abandonOpenRounds(task.id, how.abandon, this.deps.clock!.now());
    const lastRound = await storage.lastRoundNumber(task.id);
    const runner = this.buildRunner(task, payload.decode(latest.payload).values, latest.version, lastRound, strategy, how);
    if (how.install !== false) this.runners.set(task.id, runner);
    if (!how.passive) this.deps.logger.info({ taskId: task.id, version: latest.version, status: task.status, abandoned, ...(how.fence !== undefined ? { fence: how.fence } : {}) }, 'task loaded');
    return runner;
  }

  private buildRunner(task: StoredTask, global: Float32Array, version: number, lastRound: number, strategy: Strategy, how: { passive?: boolean; fence?: number } = {}): Runner {
    const Kind = task.config.mode === 'async' ? AsyncTaskRunner : TaskRunner;
    const coordination = this.coordination;
    return new Kind(task, global, version, lastRound, strategy, this.deps, {
      isBusyElsewhere: (connectionId, taskId) => this.isBusyElsewhere(connectionId, taskId),
      onRoundClosed: () => this.pokeAll(),
      ...(how.passive ? { passive: true } : {}),
      ...(how.fence !== undefined ? { fence: how.fence } : {}),
      ...(coordination && !how.passive
        ? {
            onChanged: () => coordination.changed(task.id),
            onCommitted: (c: RoundCommitted) => coordination.committed(task.id, c),
            delivered: (version: number) => coordination.delivered(task.id, version),
            collectPartials: (taskId: string, roundId: string, layout: readonly TensorSpec[], expected: ReadonlyMap<string, { count: number; examples: number }>) => this.uploads.collect(taskId, roundId, layout, expected),
          }
        : {}),
    });
  }

  private addRunner(task: StoredTask, global: Float32Array, version: number, lastRound: number, strategy: Strategy): Runner {
    const runner = this.buildRunner(task, global, version, lastRound, strategy, { passive: this.coordination !== null });
    this.runners.set(task.id, runner);
    return runner;
  }

  // ---- several processes: taking a task over, giving it up, following it ----

  /** This process's connections that joined the task, with what the current runner knows of them. */
  private localMembers(taskId: string, from: Runner | undefined): PresentMember[] {
    const out: PresentMember[] = [];
    for (const [connectionId, joined] of this.connections) {
      const participantId = joined.get(taskId);
      const m = participantId === undefined ? undefined : from?.member(participantId);
      if (participantId !== undefined && m && m.connectionId === connectionId) out.push({ participantId, connectionId, capabilities: m.capabilities });
    }
    return out;
  }

  /** This process got the task's lease: see TaskHandover.takeOver. */
  takeOver(taskId: string, fence: number, present: () => Promise<PresentMember[]>, activate: () => void, adopt?: (roundId: string) => Promise<PartialSum[]>): Promise<void> {
    return this.handover.takeOver(taskId, fence, present, activate, adopt);
  }

  /** The lease was lost: the task's rounds stop at once; it becomes a passive mirror. */
  stepDown(taskId: string): Promise<void> {
    return this.handover.stepDown(taskId);
  }

  /** Another process coordinates the task and changed it: the mirror reloads. */
  reload(taskId: string): Promise<void> {
    return this.handover.reload(taskId);
  }

  /** Another process coordinates the task and committed a version: see TaskHandover.followCommit. */
  followCommit(taskId: string, version: number, round: number, weights: Uint8Array | null, strategyState: Uint8Array | null): Promise<void> {
    return this.handover.followCommit(taskId, version, round, weights, strategyState);
  }

  /** The coordinator's members against the presence registry: see TaskHandover.reconcile. */
  reconcile(taskId: string, elsewhere: readonly PresenceEntry[], capabilities: (participantId: string) => Promise<Capabilities | null>): Promise<void> {
    return this.handover.reconcile(taskId, elsewhere, capabilities);
  }

  /** A participant event forwarded from another process (the coordinator only). */
  handleEvent(taskId: string, e: CoordinatorEvent): void {
    const runner = this.runners.get(taskId);
    if (!runner || !this.coordinates(taskId)) return;
    switch (e.kind) {
      case 'member-add':
        return runner.addMember(e.participantId, e.connectionId, e.capabilities);
      case 'member-remove':
        runner.removeMember(e.participantId, e.connectionId);
        return this.pokeAll();
      case 'member-caps':
        return runner.updateCapabilities(e.participantId, e.connectionId, e.capabilities);
      case 'decline':
        return runner.decline(e.participantId, e.roundId, e.reason);
      case 'refuse':
        return runner.refuseUpload(e.participantId, e.roundId, ChorusError.from({ code: e.code, message: e.message }));
      case 'download':
        return runner.recordDownload(e.bytes);
    }
  }

  /**
   * A request from another process `from`; throws the ChorusError it gets. Only the coordinator
   * answers, except 'partial' (the coordinator asking this process for its partial sum).
   */
  async answer(taskId: string, req: CoordinatorRequest, from = 'local'): Promise<CoordinatorAnswers[CoordinatorRequest['kind']]> {
    if (req.kind === 'partial') return this.uploads.take(taskId, req.roundId, req.admitted);
    if (!this.coordinates(taskId)) throw new ChorusError('UNAVAILABLE', `task "${taskId}" is not coordinated by this server process (its lease moved): try again`);
    const runner = this.runner(taskId);
    switch (req.kind) {
      case 'check':
        if (runner instanceof TaskRunner) {
          if (req.inFlight !== undefined) runner.reportUploads(from, req.roundId, req.inFlight);
          return runner.roundRules(req.participantId, req.roundId, req.version, from);
        }
        runner.checkUpdate(req.participantId, req.roundId, req.version);
        return { bound: null, partial: false };
      case 'slots': {
        if (!(runner instanceof TaskRunner)) return { openSlots: null };
        // A round that is over takes no more uploads: its waiters hear ROUND_CLOSED from round-over.
        if (!runner.holdsRound(req.roundId)) return { openSlots: 0 };
        runner.reportUploads(from, req.roundId, req.inFlight);
        return { openSlots: runner.openSlotsAnswer(req.roundId, from) };
      }
      case 'submit':
        return runner.submitUpdate(req.participantId, req.begin, req.bytes);
      case 'admit':
        if (!(runner instanceof TaskRunner)) throw new ChorusError('BAD_REQUEST', `task "${taskId}" takes no partial sums`);
        if (req.inFlight !== undefined) runner.reportUploads(from, req.begin.roundId, req.inFlight);
        return runner.admitPartial(from, req.participantId, req.begin, req.bytes, req.verdict);
      case 'admin':
        return this.admin(taskId, req.action);
      case 'summary': {
        const { status, phase, version, lastRound, currentRound, connected, byBackend } = runner.summary();
        return { status, phase, version, lastRound, currentRound, connected, byBackend };
      }
      case 'secagg':
        runner.secureMessage(req.participantId, req.message);
        return { received: true };
    }
  }

  /**
   * The task's summary as its coordinator sees it (the round in progress, every process's
   * participants), wherever it is asked. When the coordinator cannot answer (a takeover under way)
   * this process's mirror answers: stored status and version, its own participants.
   */
  async liveSummary(taskId: string): Promise<TaskSummary> {
    const local = this.summary(taskId);
    if (this.coordinates(taskId)) return local;
    try {
      return { ...local, ...(await this.coordination!.ask(taskId, { kind: 'summary' })) };
    } catch (err) {
      this.deps.logger.debug({ taskId, err: ChorusError.from(err).message }, 'task summary from the local mirror');
      return local;
    }
  }

  private async admin(taskId: string, action: AdminAction): Promise<TaskStatus> {
    if (!this.coordinates(taskId)) return (await this.coordination!.ask(taskId, { kind: 'admin', action })) as TaskStatus;
    const runner = this.runner(taskId);
    switch (action) {
      case 'start':
        await runner.start();
        return runner.taskStatus();
      case 'pause':
        await runner.halt('paused');
        return 'paused';
      case 'resume':
        await runner.resume();
        return 'running';
      case 'stop':
        await runner.halt('stopped');
        return 'stopped';
    }
  }

  /**
   * Stores a new task at version 0 and loads it. Callers check the request first (the task service:
   * config, a free id); the database refuses an id that is taken meanwhile.
   */
  async createTask(input: CreateTaskInput): Promise<StoredTask> {
    const { config, layout, weights } = input;
    if (weights.length !== layoutSize(layout)) {
      throw new ChorusError('SHAPE_MISMATCH', `createTask: ${weights.length} initial weights for a layout of ${layoutSize(layout)} values`);
    }
    // Fails with INVALID_CONFIG naming the option (strategy, selection policy) before anything is stored.
    const strategy = this.deps.createStrategy(config.strategy, layout);
    const selector = createSelector(config.selection);
    if (selector.usesSignatures && config.secureAggregation) {
      throw new ChorusError('INVALID_CONFIG', "selection.options.diversity: coverage ranks participants by their own updates, which a secure-aggregation task never sees; set it to 0 or turn secure aggregation off");
    }
    const now = this.deps.clock!.now();
    const task = { id: config.id, config, topology: input.topology, layout, status: 'created' as const, createdAt: now };
    const payload = this.deps.payload.encode({ layout, values: weights }, 'float32');
    await this.deps.storage.createTask(task, { taskId: task.id, version: 0, round: 0, payload, strategyState: strategy.exportState(), metrics: {}, createdAt: now });
    const stored = (await this.deps.storage.getTask(task.id))!;
    // The strategy that validated the config runs the task: version 0 is the weights as given.
    this.addRunner(stored, this.deps.payload.decode(payload).values, 0, 0, strategy);
    this.deps.logger.info({ taskId: task.id, version: 0, status: stored.status }, 'task created');
    this.coordination?.created(task.id);
    return stored;
  }

  private runner(taskId: string): Runner {
    const r = this.runners.get(taskId);
    if (!r) throw new ChorusError('NOT_FOUND', `task "${taskId}" does not exist`);
    return r;
  }

  // ---- the read model: snapshots and copies; only a task's runner writes its state ----

  /** Where the task stands: status, phase, version, the open round, who is connected. NOT_FOUND for an unknown task. */
  summary(taskId: string): TaskSummary {
    return this.runner(taskId).summary();
  }

  /** The task as stored: config, topology and layout (a new object whenever its status changes). */
  task(taskId: string): StoredTask {
    return this.runner(taskId).task();
  }

  /** The task's latest committed version, without building a summary (which counts every member): a download asks this. */
  latestVersion(taskId: string): number {
    return this.runner(taskId).latestVersion();
  }

  /** A copy of the task's current global weights. */
  globalWeights(taskId: string): Float32Array {
    return this.runner(taskId).globalWeights();
  }

  /** A copy of what the task knows of a connected participant, if it is connected. */
  member(taskId: string, participantId: string): Readonly<Member> | undefined {
    return this.runner(taskId).member(participantId);
  }

  hasTask(taskId: string): boolean {
    return this.runners.has(taskId);
  }

  taskIds(): string[] {
    return [...this.runners.keys()];
  }

  // Admin actions run where the task is coordinated (forwarded there from another process).

  async start(taskId: string): Promise<TaskStatus> {
    this.runner(taskId);
    return this.admin(taskId, 'start');
  }

  async pause(taskId: string): Promise<TaskStatus> {
    this.runner(taskId);
    return this.admin(taskId, 'pause');
  }

  async resume(taskId: string): Promise<TaskStatus> {
    this.runner(taskId);
    return this.admin(taskId, 'resume');
  }

  async stop(taskId: string): Promise<TaskStatus> {
    this.runner(taskId);
    return this.admin(taskId, 'stop');
  }

  taskInfo(taskId: string): TaskInfo {
    const runner = this.runner(taskId);
    const status = runner.taskStatus();
    const c = runner.config;
    const privacy = taskPrivacyInfo(c);
    return { id: c.id, name: c.name, description: c.description, status, data: c.data, training: c.training, codec: c.codec, modelPath: `/api/tasks/${c.id}/versions/latest/model.json`, ...(privacy ? { privacy } : {}), ...personalizationInfo(c), ...(c.mode === 'async' ? { mode: 'async' as const } : {}) };
  }

  // ---- participants ----

  /** Validates a join and issues (or keeps) the pseudonymous participant id. Call `attach` after acking. */
  async join(req: JoinRequest): Promise<Omit<JoinResponse, 'maxChunkBytes'>> {
    if (req.protocolVersion !== PROTOCOL_VERSION) {
      throw new ChorusError('UNSUPPORTED_PROTOCOL', `protocolVersion ${req.protocolVersion} is not supported; this server speaks version ${PROTOCOL_VERSION}`);
    }
    await this.knowTask(req.taskId);
    const runner = this.runner(req.taskId);
    const { storage, clock } = this.deps;
    const known = req.participantId ? await storage.getParticipant(req.taskId, req.participantId) : null;
    const participantId = known ? known.id : randomUUID();
    await storage.upsertParticipant(req.taskId, participantId, req.capabilities, clock!.now());
    return { participantId, task: this.taskInfo(req.taskId), latestVersion: runner.latestVersion() };
  }

  /** The connection now takes part in the task: it may be selected, or re-invited to its open round. */
  attach(connectionId: string, taskId: string, participantId: string, capabilities: Capabilities): void {
    const joined = this.connections.get(connectionId) ?? new Map<string, string>();
    this.connections.set(connectionId, joined);
    const previous = joined.get(taskId);
    if (previous && previous !== participantId) this.runner(taskId).removeMember(previous, connectionId);
    joined.set(taskId, participantId);
    this.runner(taskId).addMember(participantId, connectionId, capabilities);
    this.coordination?.present(taskId, participantId, connectionId, true);
    this.forward(taskId, { kind: 'member-add', participantId, connectionId, capabilities });
  }

  /** Several processes: an event for a task another process coordinates goes there. True when forwarded. */
  private forward(taskId: string, event: CoordinatorEvent): boolean {
    if (this.coordinates(taskId)) return false;
    this.coordination!.tell(taskId, event);
    return true;
  }

  detach(connectionId: string): void {
    const joined = this.connections.get(connectionId);
    this.connections.delete(connectionId);
    if (!joined) return;
    for (const [taskId, participantId] of joined) {
      this.runners.get(taskId)?.removeMember(participantId, connectionId);
      this.coordination?.present(taskId, participantId, connectionId, false);
      this.forward(taskId, { kind: 'member-remove', participantId, connectionId });
    }
    this.pokeAll();
  }

  participantOf(connectionId: string, taskId: string): string {
    const pid = this.connections.get(connectionId)?.get(taskId);
    if (!pid) throw new ChorusError('FORBIDDEN', `this connection has not joined task "${taskId}"`);
    return pid;
  }

  updateCapabilities(connectionId: string, taskId: string, capabilities: Capabilities): void {
    const pid = this.participantOf(connectionId, taskId);
    this.runner(taskId).updateCapabilities(pid, connectionId, capabilities);
    this.forward(taskId, { kind: 'member-caps', participantId: pid, connectionId, capabilities });
    this.deps.storage.upsertParticipant(taskId, pid, capabilities, this.deps.clock!.now()).catch((err: unknown) => this.deps.logger.error({ err }, 'participant write failed'));
  }

  decline(connectionId: string, taskId: string, roundId: string, reason: string): void {
    const participantId = this.participantOf(connectionId, taskId);
    if (!this.forward(taskId, { kind: 'decline', participantId, roundId, reason })) this.runner(taskId).decline(participantId, roundId, reason);
  }

  // ---- updates ----

  /**
   * Checks an upload before any byte arrives: size bound first, then round membership. On a process
   * that does not coordinate the task only the size is checked here (the round lives elsewhere:
   * see checkUpload, and the coordinator checks everything again when the update arrives).
   */
  beginUpdate(connectionId: string, begin: UpdateBegin): void {
    const pid = this.participantOf(connectionId, begin.taskId);
    const runner = this.runner(begin.taskId);
    const max = runner.maxPayloadBytes();
    if (begin.byteLength > max) {
      throw new ChorusError('PAYLOAD_TOO_LARGE', `byteLength ${begin.byteLength} exceeds ${max}, the largest ${runner.config.codec} update for this model`);
    }
    if (this.coordinates(begin.taskId)) runner.checkUpdate(pid, begin.roundId, begin.version);
  }

  /**
   * beginUpdate, with the round membership asked of the coordinator when it is on another process
   * (which also answers the round's rules: its bound, and whether uploads fold into a partial sum here).
   */
  async checkUpload(connectionId: string, begin: UpdateBegin, options: { running?: boolean } = {}): Promise<void> {
    this.beginUpdate(connectionId, begin);
    if (this.coordinates(begin.taskId)) return;
    const closed = this.uploads.closedError(begin.taskId, begin.roundId);
    if (closed) throw closed;
    const participantId = this.participantOf(connectionId, begin.taskId);
    // A begin being checked counts as running (`running`: the gate already counts it): when a round's
    // invitees all begin at once, each process's checks must tell the coordinator how many are coming.
    const roundId = begin.roundId;
    if (!options.running) this.checking.set(roundId, (this.checking.get(roundId) ?? 0) + 1);
    try {
      const rules = await this.coordination!.ask(begin.taskId, { kind: 'check', participantId, roundId, version: begin.version, inFlight: this.uploadsHere(roundId) });
      this.uploads.remember(begin.taskId, roundId, rules);
    } finally {
      if (!options.running) {
        const left = (this.checking.get(roundId) ?? 1) - 1;
        if (left > 0) this.checking.set(roundId, left);
        else this.checking.delete(roundId);
      }
    }
  }

  /** This process's uploads for a round as it reports them: running, or begun and being checked. */
  private uploadsHere(roundId: string): number {
    return (this.running.get(roundId) ?? 0) + (this.checking.get(roundId) ?? 0);
  }

  /** The upload gate's count of this process's uploads running for a round; the round's coordinator weighs it. */
  uploadsRunning(taskId: string, roundId: string, count: number): void {
    if (count > 0) this.running.set(roundId, count);
    else this.running.delete(roundId);
    const runner = this.runners.get(taskId);
    if (runner instanceof TaskRunner && this.coordinates(taskId)) runner.reportUploads(LOCAL_PROCESS, roundId, count);
  }

  /** Begins wait here for a round coordinated elsewhere: ask its coordinator afresh how many may run. */
  async refreshSlots(taskId: string, roundId: string): Promise<void> {
    if (!this.coordination || this.coordinates(taskId)) return;
    if (this.uploads.closedError(taskId, roundId)) return this.uploads.setSlots(taskId, roundId, 0);
    const { openSlots } = await this.coordination.ask(taskId, { kind: 'slots', roundId, inFlight: this.uploadsHere(roundId) });
    this.uploads.setSlots(taskId, roundId, openSlots);
  }

  submitUpdate(connectionId: string, begin: UpdateBegin, bytes: Uint8Array): UpdateReceipt {
    const pid = this.participantOf(connectionId, begin.taskId);
    if (!this.coordinates(begin.taskId)) throw new ChorusError('UNAVAILABLE', `task "${begin.taskId}" is coordinated by another server process: use submitUpload`);
    return this.runner(begin.taskId).submitUpdate(pid, begin, bytes);
  }

  /**
   * A complete upload: folded here when this process coordinates the task (through `fold`, the
   * socket layer's yielding queue), otherwise forwarded with its bytes to the coordinator, which
   * validates it exactly as a local one and answers with the receipt or the refusal.
   */
  async submitUpload(connectionId: string, begin: UpdateBegin, bytes: Uint8Array, fold: <T>(job: () => T) => Promise<T> = async (job) => job()): Promise<UpdateReceipt> {
    if (this.coordinates(begin.taskId)) return fold(() => this.submitUpdate(connectionId, begin, bytes));
    const participantId = this.participantOf(connectionId, begin.taskId);
    const rules = this.uploads.partialRules(begin.taskId, begin.roundId);
    if (!rules) return this.coordination!.ask(begin.taskId, { kind: 'submit', participantId, begin, bytes });
    return this.uploads.submit(this.runner(begin.taskId), participantId, begin, bytes, rules, fold);
  }


  /** How many uploads for the round may run at once: the updates it still needs while it collects. */
  openSlots(taskId: string, roundId: string): number {
    // A round coordinated elsewhere: what its coordinator last said (upload checks carry it).
    const told = this.coordinates(taskId) ? undefined : this.uploads.openSlots(taskId, roundId);
    if (told !== undefined) return told;
    return this.runners.get(taskId)?.openSlots(roundId) ?? Infinity;
  }

  /**
   * An upload of a selected participant was refused before it began (a rate limit): its place in
   * the round is given up, so a round whose outstanding uploads were all refused closes on what it
   * has instead of waiting out its deadline.
   */
  refuseUpload(connectionId: string, taskId: string, roundId: string, error: ChorusError): void {
    const pid = this.connections.get(connectionId)?.get(taskId);
    if (!pid || this.forward(taskId, { kind: 'refuse', participantId: pid, roundId, code: error.code, message: error.message })) return;
    this.runners.get(taskId)?.refuseUpload(pid, roundId, error);
  }

  /**
   * A participant's message in a stage of a secure round (SecAgg+). The stages run on the task's
   * coordinator: from another process the message is forwarded there, and its refusal (a typed
   * error) comes back; the coordinator's messages reach the participant through the Socket.IO adapter.
   */
  secureMessage(connectionId: string, req: SecAggClientMessage): Promise<void> | void {
    const participantId = this.participantOf(connectionId, req.taskId);
    // Here: handled in this turn (a refusal throws at once).
    if (this.coordinates(req.taskId)) return this.runner(req.taskId).secureMessage(participantId, req);
    return this.coordination!.ask(req.taskId, { kind: 'secagg', participantId, message: req }).then(() => undefined);
  }

  recordDownload(taskId: string, bytes: number): void {
    if (!this.runners.has(taskId) || this.forward(taskId, { kind: 'download', bytes })) return;
    this.runners.get(taskId)?.recordDownload(bytes);
  }

  private isBusyElsewhere(connectionId: string, taskId: string): boolean {
    for (const [id, r] of this.runners) if (id !== taskId && r.holdsConnection(connectionId)) return true;
    return false;
  }

  private pokeAll(): void {
    for (const r of this.runners.values()) r.maybeStartRound();
  }

  /** Resolves when every task's queued writes and running aggregations are done. */
  async idle(): Promise<void> {
    await Promise.all([...this.runners.values()].map((r) => r.idle()));
  }

  /** Stops timers, abandons open rounds ('server shutdown') and waits for in-flight work. */
  async close(): Promise<void> {
    await Promise.all([...this.runners.values()].map((r) => r.shutdown()));
    await this.idle();
  }
}

/** What a participant needs to keep its personal layers; the task service resolved `personalLayers` at creation. */
function personalizationInfo(c: TaskConfig): Pick<TaskInfo, 'personalization'> {
  const p = c.personalization;
  if (!p?.personalLayers) return {};
  return { personalization: { ...p, personalLayers: p.personalLayers } };
}
