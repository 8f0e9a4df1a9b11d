import { ChorusError, type Capabilities, type PersonalWeights, type TaskInfo } from '@chorus/core';
import { backoffDelay, sleep } from './session/backoff.js';
import { createParticipantSession, type ParticipantSession, type ParticipantSessionOptions } from './session/participant-session.js';
import { createParticipationPolicy, type ParticipationPolicyOptions, type PauseReason } from './participant/participation-policy.js';
import { EMPTY_PROGRESS, INITIAL_STATE, StateStore, type ParticipantState } from './participant/participant-state.js';
import { createResumableTrainer } from './participant/resumable-trainer.js';
import { createSingleTabLock } from './participant/single-tab-lock.js';
import { START_UP_TIMEOUTS, withTimeout } from './participant/start-up-timeout.js';
import type { NewExample } from './storage/example-store.js';
import { DEFAULT_DB_NAME, type ExampleSource } from './storage/participant-db.js';
import { openParticipantStorage, type ParticipantStorage } from './storage/participant-storage.js';
import { useMemoryIndexedDb } from './storage/storage-probe.js';
import type { BackendId } from './worker/trainer-protocol.js';
import { createWorkerTrainer, type WorkerTrainer } from './worker/worker-trainer.js';

export interface BrowserParticipantOptions {
  /** Aggregation server, e.g. "http://localhost:8080". */
  readonly serverUrl: string;
  readonly taskId: string;
  /** Train on this backend instead of the measured fastest. */
  readonly forceBackend?: BackendId;
  /**
   * Share of CPU time local training may use, 0 < d ≤ 1: after each batch the worker rests
   * batchMs × (1 − d) / d, so the page stays responsive all through a round. @default 1
   */
  readonly dutyCycle?: number;
  /** @default 'chorus-participant' */
  readonly dbName?: string;
  /** Folder URL of tfjs's .wasm files. @default `${origin}/tfjs-wasm/` */
  readonly wasmBaseUrl?: string;
  readonly createWorker?: () => Worker;
  readonly policy?: ParticipationPolicyOptions;
  /** Only one tab of the browser participates at a time. @default true */
  readonly singleTab?: boolean;
  /**
   * Where this browser keeps the participant's data: IndexedDB, or memory when IndexedDB is
   * unavailable (a partner's frame with third-party storage blocked): the visit trains the same
   * way, and nothing is kept after the page closes. @default 'indexeddb'
   */
  readonly storage?: 'indexeddb' | 'memory';
  /** Start-up step limits; see START_UP_TIMEOUTS. */
  readonly timeouts?: Partial<typeof START_UP_TIMEOUTS>;
  /** Passed through to the transport session (timeouts, chunk size, socket factory). */
  readonly session?: Partial<Omit<ParticipantSessionOptions, 'serverUrl' | 'taskId' | 'trainer' | 'capabilities' | 'modelCache' | 'residualStore' | 'participantId'>>;
}

export interface BrowserParticipant {
  getState(): ParticipantState;
  /** React: useSyncExternalStore(p.subscribe, p.getState). */
  subscribe(listener: () => void): () => void;
  /** Starts taking part (call after consent). Reconnects by itself until stopped. */
  start(): Promise<void>;
  pause(): void;
  resume(): void;
  addExamples(examples: readonly NewExample[], source: ExampleSource): Promise<void>;
  /** Stores a demo dataset shard (decoded in the worker); see TrainerWorkerApi.importShard. */
  importShard(url: string): Promise<number>;
  /** The pseudonymous id of this browser (picks the demo shard). */
  localId(): Promise<string>;
  /**
   * A personalized task's personal layers as this device last trained them (Ditto: its whole
   * personal model); undefined before its first round. For predicting with the device's own model.
   */
  personalLayers(): Promise<PersonalWeights | undefined>;
  /** Stops taking part and erases everything this device stored. */
  deleteMyData(): Promise<void>;
  stop(): Promise<void>;
}

export function createBrowserParticipant(options: BrowserParticipantOptions): BrowserParticipant {
  if (!options.serverUrl) throw new ChorusError('INVALID_CONFIG', 'serverUrl: required (e.g. "http://localhost:8080")');
  if (!options.taskId) throw new ChorusError('INVALID_CONFIG', 'taskId: required');
  if (options.dutyCycle !== undefined && !(options.dutyCycle > 0 && options.dutyCycle <= 1)) {
    throw new ChorusError('INVALID_CONFIG', `dutyCycle: expected a share of the CPU time with 0 < dutyCycle ≤ 1, got ${options.dutyCycle}`);
  }
  const serverUrl = options.serverUrl.replace(/\/+$/, '');
  const taskId = options.taskId;
  const dbName = options.dbName ?? DEFAULT_DB_NAME;
  const store = new StateStore<ParticipantState>(INITIAL_STATE);
  const memory = options.storage === 'memory';
  const timeouts = { ...START_UP_TIMEOUTS, ...options.timeouts };
  const storageReady: Promise<ParticipantStorage> = withTimeout(memory ? openMemoryStorage() : openParticipantStorage(dbName), timeouts.storageMs, "opening this browser's storage");
  // Let the first failure surface through refreshCounts/connect, not as an unhandled rejection.
  storageReady.catch(() => undefined);
  const policy = createParticipationPolicy(options.policy);
  const lock = createSingleTabLock(`chorus-participant:${serverUrl}|${taskId}`, options.singleTab === false ? null : undefined);
  let trainer: WorkerTrainer | undefined;
  let prepared: Promise<void> | undefined;
  let session: ParticipantSession | undefined;
  let started = false;
  let stopped = false;
  let connectLoop: Promise<void> | undefined;

  const fail = (err: unknown): void => {
    const e = ChorusError.from(err);
    store.update({ lastError: { code: e.code, message: e.message, at: Date.now() } });
  };

  const refreshCounts = async (): Promise<void> => {
    const storage = await storageReady;
    const numClasses = store.get().task?.data.numClasses ?? 10;
    store.update({ examples: await storage.examples.count(taskId, numClasses), contributions: await storage.contributions.summary(taskId) });
  };

  const capabilities = (): Capabilities => ({
    backend: trainer?.backend ?? 'undecided',
    ...(trainer && trainer.samplesPerSecond > 0 ? { samplesPerSecond: Math.round(trainer.samplesPerSecond * 10) / 10 } : {}),
    numExamples: store.get().examples.total,
    platform: (globalThis.navigator?.userAgent ?? 'unknown').slice(0, 200),
  });

  /**
   * Memory mode: the page's stores live in an in-memory IndexedDB, and the examples live in the
   * worker's (it is the one that trains on them), so page and worker never disagree.
   */
  async function openMemoryStorage(): Promise<ParticipantStorage> {
    await useMemoryIndexedDb();
    const storage = await openParticipantStorage(dbName);
    return {
      ...storage,
      examples: {
        add: (...args) => getTrainer().examples.add(...args),
        count: (...args) => getTrainer().examples.count(...args),
        load: (...args) => getTrainer().examples.load(...args),
        deleteAll: (...args) => getTrainer().examples.deleteAll(...args),
      },
      async deleteEverything() {
        await storage.deleteEverything();
        await trainer?.examples.deleteAll(taskId);
      },
    };
  }

  const getTrainer = (): WorkerTrainer => {
    if (trainer) return trainer;
    trainer = createWorkerTrainer({
      dbName,
      ...(memory ? { memoryStorage: true } : {}),
      ...(options.wasmBaseUrl ? { wasmBaseUrl: options.wasmBaseUrl } : {}),
      ...(options.forceBackend ? { forceBackend: options.forceBackend } : {}),
      ...(options.dutyCycle !== undefined ? { dutyCycle: options.dutyCycle } : {}),
      ...(options.createWorker ? { createWorker: options.createWorker } : {}),
    });
    trainer.onTrainProgress((p) =>
      store.update((s) => ({ progress: { ...s.progress, epoch: p.epoch, epochs: p.epochs, batch: p.batch, batchesPerEpoch: p.batchesPerEpoch } })),
    );
    return trainer;
  };

  /** Builds the model in the worker and measures backends, once per page load. */
  const prepare = (task: TaskInfo): Promise<void> =>
    (prepared ??= (async () => {
      store.update({ phase: 'preparing' });
      const res = await fetch(new URL(task.modelPath, `${serverUrl}/`).href);
      if (!res.ok) throw new ChorusError('UNAVAILABLE', `could not download the model description (HTTP ${res.status})`);
      const modelJson = (await res.json()) as { modelTopology?: unknown };
      const choice = await withTimeout(
        getTrainer().prepare({ taskId, topology: modelJson.modelTopology, inputShape: task.data.inputShape, numClasses: task.data.numClasses }),
        timeouts.prepareMs,
        'preparing the model on this device',
      );
      store.update((st) => ({ backend: choice, samplesPerSecond: choice.samplesPerSecond, phase: st.phase === 'preparing' ? 'running' : st.phase }));
      await session?.updateCapabilities(capabilities()).catch(() => undefined);
    })().catch((err: unknown) => {
      prepared = undefined;
      throw err;
    }));

  const wireSession = (s: ParticipantSession, storage: ParticipantStorage): void => {
    s.on('status', (status) => store.update({ sessionStatus: status }));
    s.on('joined', (j) => {
      store.update({ task: j.task, participantId: j.participantId, phase: 'running' });
      void storage.identity.rememberServerParticipantId(serverUrl, taskId, j.participantId, j.token);
    });
    s.on('roundJoined', (invite) => {
      const secure = (invite.secureAggregation?.setup as { participants?: unknown } | undefined)?.participants;
      store.update({ progress: { ...EMPTY_PROGRESS, roundId: invite.roundId, round: invite.round, ...(typeof secure === 'number' ? { secureParticipants: secure } : {}) } });
    });
    s.on('progress', (p) => store.update((st) => (st.progress.roundId === p.roundId ? { progress: { ...st.progress, [p.phase]: p.fraction } } : {})));
    s.on('receipt', (r) => {
      void (async () => {
        await storage.pendingUploads.clear(taskId);
        await storage.contributions.record({ taskId, roundId: r.roundId, round: r.round, bytes: r.bytes, numExamples: r.numExamples, accepted: r.receipt.accepted, at: Date.now() });
        const m = r.metrics;
        const scored = typeof m.holdoutSharedAccuracy === 'number' && typeof m.holdoutPersonalAccuracy === 'number';
        const { accepted, note, reason, secureAggregation } = r.receipt;
        const words = note ?? reason;
        store.update({
          lastReceipt: { round: r.round, accepted, ...(words ? { note: words } : {}), ...(secureAggregation ? { securelyAggregatedWith: secureAggregation.participants } : {}) },
          samplesPerSecond: trainer?.samplesPerSecond ?? 0,
          ...(scored ? { personalAccuracy: { round: r.round, shared: m.holdoutSharedAccuracy!, personal: m.holdoutPersonalAccuracy!, heldOut: m.holdoutExamples ?? 0 } } : {}),
        });
        await refreshCounts();
        await s.updateCapabilities(capabilities()).catch(() => undefined);
      })();
    });
    s.on('roundFailed', (f) => {
      // The round's slot is gone (core's error policy): the saved upload can never be sent.
      if (f.error.roundOver) void storage.pendingUploads.clear(taskId);
    });
    s.on('modelUpdated', (m) => store.update({ globalModel: m }));
    s.on('error', fail);
  };

  /** Joins (again) until it works or participation stops; the session handles reconnects after that. */
  const connect = async (): Promise<void> => {
    let storage: ParticipantStorage;
    try {
      storage = await storageReady;
    } catch (err) {
      fail(err);
      store.update({ phase: 'failed' });
      return;
    }
    for (let attempt = 0; !stopped && policy.canParticipate && !session; attempt++) {
      store.update({ phase: 'connecting' });
      const participantId = await storage.identity.serverParticipantId(serverUrl, taskId);
      const token = await storage.identity.serverToken(serverUrl, taskId);
      const resumable = createResumableTrainer(getTrainer(), storage.pendingUploads, async () => {
        const task = store.get().task;
        if (task) await prepare(task);
      });
      const s = createParticipantSession({
        ...options.session,
        serverUrl,
        taskId,
        trainer: {
          ...(resumable.secure ? { secure: resumable.secure } : {}),
          train: async (...args) => {
            try {
              return await resumable.train(...args);
            } finally {
              store.update({ resumedRounds: resumable.resumedRounds });
            }
          },
        },
        capabilities: capabilities(),
        modelCache: storage.models,
        residualStore: storage.residuals,
        personalStore: storage.personalLayers,
        ...(participantId ? { participantId } : {}),
        ...(participantId && token ? { token } : {}),
      });
      wireSession(s, storage);
      // The session keeps trying to reach the server; after a while the visitor is told so.
      const slow = setTimeout(() => fail(new ChorusError('UNAVAILABLE', `could not reach Chorus at ${serverUrl} within ${Math.round(timeouts.connectMs / 1000)} s; still trying`)), timeouts.connectMs);
      try {
        const joined = await s.start().finally(() => clearTimeout(slow));
        session = s;
        store.update({ phase: 'running', task: joined.task, participantId: joined.participantId });
        await prepare(joined.task).catch(async (err: unknown) => {
          // A device that cannot train must not stay in the pool the server selects from.
          fail(err);
          store.update({ phase: 'failed' });
          await disconnect();
        });
        return;
      } catch (err) {
        fail(err);
        await s.close();
        const e = ChorusError.from(err);
        if (!e.retryable) {
          store.update({ phase: 'failed' });
          return;
        }
        await sleep(backoffDelay(attempt, { initialMs: 1_000, maxMs: 15_000 }));
      }
    }
  };

  const disconnect = async (): Promise<void> => {
    const s = session;
    session = undefined;
    await s?.close();
  };

  const onPolicy = (reasons: ReadonlySet<PauseReason>): void => {
    store.update({ pauseReasons: [...reasons] });
    if (!started || stopped) return;
    if (reasons.size > 0) {
      store.update({ phase: reasons.has('other-tab') ? 'waiting-for-tab' : 'paused' });
      void disconnect();
    } else {
      void requestConnect();
    }
  };
  /** Connection attempts run one after another; one that finds a session already open returns at once. */
  const requestConnect = (): Promise<void> => (connectLoop = (connectLoop ?? Promise.resolve()).then(connect).catch(fail));
  policy.subscribe(onPolicy);
  store.update({ pauseReasons: [...policy.reasons] });
  void storageReady.then(refreshCounts).catch(fail);

  return {
    getState: store.get,
    subscribe: store.subscribe,
    async start() {
      if (started) return;
      started = true;
      stopped = false;
      await lock.acquire(() => {
        store.update({ phase: 'waiting-for-tab' });
        policy.set('other-tab', true);
      });
      policy.set('other-tab', false);
      if (!policy.canParticipate) {
        store.update({ phase: 'paused' });
        return;
      }
      await requestConnect();
    },
    pause: () => policy.set('user', true),
    resume: () => policy.set('user', false),
    async addExamples(examples, source) {
      const storage = await storageReady;
      await storage.examples.add(taskId, examples, source);
      await refreshCounts();
      await session?.updateCapabilities(capabilities()).catch(() => undefined);
    },
    async importShard(url) {
      const n = await withTimeout(getTrainer().importShard(taskId, url), timeouts.demoDataMs, 'downloading the demo data');
      await refreshCounts();
      await session?.updateCapabilities(capabilities()).catch(() => undefined);
      return n;
    },
    localId: async () => (await storageReady).identity.localId(),
    personalLayers: async () => (await storageReady).personalLayers.get(taskId),
    async deleteMyData() {
      await this.stop();
      const storage = await storageReady;
      await storage.deleteEverything();
      store.update({ ...INITIAL_STATE, phase: 'stopped' });
      await refreshCounts();
    },
    async stop() {
      stopped = true;
      started = false;
      await disconnect();
      trainer?.terminate();
      trainer = undefined;
      prepared = undefined;
      lock.release();
      store.update({ phase: 'stopped', progress: EMPTY_PROGRESS });
    },
  };
}
