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
import { TaskRunner, type Member } from './task-runner.js';
import { AsyncTaskRunner } from './async-task-runner.js';

/** A task's state machine: rounds (TaskRunner) or buffered asynchronous aggregation (AsyncTaskRunner, mode 'async'). */
type Runner = TaskRunner | AsyncTaskRunner;
import type { TaskSummary } from './task-summary.js';

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
  /** connection id → task id → participant id */
  private readonly connections = new Map<string, Map<string, string>>();
  readonly deps: EngineDeps;

  constructor(deps: EngineDeps) {
    this.deps = { ...deps, clock: deps.clock ?? systemClock };
  }

  /** Loads every task from its latest committed version; rounds left open by a crash are abandoned. */
  async init(): Promise<void> {
    for (const task of await this.deps.storage.listTasks()) {
      const runner = await this.loadRunner(task);
      if (runner.taskStatus() === 'running') runner.enterWaiting();
    }
  }

  private async loadRunner(task: StoredTask): Promise<Runner> {
    const { storage, payload } = this.deps;
    const latest = await storage.latestVersion(task.id);
    if (!latest) throw new ChorusError('INTERNAL', `task "${task.id}" has no committed version`);
    const strategy = this.deps.createStrategy(task.config.strategy, task.layout);
    if (latest.strategyState) strategy.importState(latest.strategyState);
    const abandoned = await storage.abandonOpenRounds(task.id, 'server restart', this.deps.clock!.now());
    const lastRound = await storage.lastRoundNumber(task.id);
    const runner = this.addRunner(task, payload.decode(latest.payload).values, latest.version, lastRound, strategy);
    this.deps.logger.info({ taskId: task.id, version: latest.version, status: task.status, abandoned }, 'task loaded');
    return runner;
  }

  private addRunner(task: StoredTask, global: Float32Array, version: number, lastRound: number, strategy: Strategy): Runner {
    const Kind = task.config.mode === 'async' ? AsyncTaskRunner : TaskRunner;
    const runner = new Kind(task, global, version, lastRound, strategy, this.deps, {
      isBusyElsewhere: (connectionId, taskId) => this.isBusyElsewhere(connectionId, taskId),
      onRoundClosed: () => this.pokeAll(),
    });
    this.runners.set(task.id, runner);
    return runner;
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
    createSelector(config.selection);
    const now = this.deps.clock!.now();
    const task = { id: config.id, config, topology: input.topology, layout, status: 'created' as const, createdAt: now };
    const payload = this.deps.payload.encode({ layout, values: weights }, 'float32');
    await this.deps.storage.createTask(task, { taskId: task.id, version: 0, round: 0, payload, strategyState: strategy.exportState(), metrics: {}, createdAt: now });
    const stored = (await this.deps.storage.getTask(task.id))!;
    // The strategy that validated the config runs the task: version 0 is the weights as given.
    this.addRunner(stored, this.deps.payload.decode(payload).values, 0, 0, strategy);
    this.deps.logger.info({ taskId: task.id, version: 0, status: stored.status }, 'task created');
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

  async start(taskId: string): Promise<TaskStatus> {
    await this.runner(taskId).start();
    return this.runner(taskId).taskStatus();
  }

  async pause(taskId: string): Promise<TaskStatus> {
    await this.runner(taskId).halt('paused');
    return 'paused';
  }

  async resume(taskId: string): Promise<TaskStatus> {
    await this.runner(taskId).resume();
    return 'running';
  }

  async stop(taskId: string): Promise<TaskStatus> {
    await this.runner(taskId).halt('stopped');
    return 'stopped';
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
  }

  detach(connectionId: string): void {
    const joined = this.connections.get(connectionId);
    this.connections.delete(connectionId);
    if (!joined) return;
    for (const [taskId, participantId] of joined) this.runners.get(taskId)?.removeMember(participantId, connectionId);
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
    this.deps.storage.upsertParticipant(taskId, pid, capabilities, this.deps.clock!.now()).catch((err: unknown) => this.deps.logger.error({ err }, 'participant write failed'));
  }

  decline(connectionId: string, taskId: string, roundId: string, reason: string): void {
    this.runner(taskId).decline(this.participantOf(connectionId, taskId), roundId, reason);
  }

  // ---- updates ----

  /** Checks an upload before any byte arrives: size bound first, then round membership. */
  beginUpdate(connectionId: string, begin: UpdateBegin): void {
    const pid = this.participantOf(connectionId, begin.taskId);
    const runner = this.runner(begin.taskId);
    const max = runner.maxPayloadBytes();
    if (begin.byteLength > max) {
      throw new ChorusError('PAYLOAD_TOO_LARGE', `byteLength ${begin.byteLength} exceeds ${max}, the largest ${runner.config.codec} update for this model`);
    }
    runner.checkUpdate(pid, begin.roundId, begin.version);
  }

  submitUpdate(connectionId: string, begin: UpdateBegin, bytes: Uint8Array): UpdateReceipt {
    const pid = this.participantOf(connectionId, begin.taskId);
    return this.runner(begin.taskId).submitUpdate(pid, begin, bytes);
  }

  /** How many uploads for the round may run at once: the updates it still needs while it collects. */
  openSlots(taskId: string, roundId: string): number {
    return this.runners.get(taskId)?.openSlots(roundId) ?? Infinity;
  }

  /**
   * An upload of a selected participant was refused before it began (a rate limit): its place in
   * the round is given up, so a round whose outstanding uploads were all refused closes on what it
   * has instead of waiting out its deadline.
   */
  refuseUpload(connectionId: string, taskId: string, roundId: string, error: ChorusError): void {
    const pid = this.connections.get(connectionId)?.get(taskId);
    if (pid) this.runners.get(taskId)?.refuseUpload(pid, roundId, error);
  }

  /** A participant's message in a stage of a secure round (SecAgg+). */
  secureMessage(connectionId: string, req: SecAggClientMessage): void {
    this.runner(req.taskId).secureMessage(this.participantOf(connectionId, req.taskId), req);
  }

  recordDownload(taskId: string, bytes: number): void {
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
