/// <reference lib="webworker" />
/**
 * The Web Worker that owns TensorFlow.js: backend choice, the model, local training. It reads the
 * participant's examples from IndexedDB itself, so training data never crosses to the page either.
 */
import * as tf from '@tensorflow/tfjs';
import { expose, releaseProxy, transfer } from 'comlink';
import { ChorusError, createSeededRandom, type PersonalWeights } from '@chorus/core';
import { decodeDatasetShard, dutyCyclePause, getModelTemplate, modelFromTopology, trainLocal, trainPersonalized, writeModelWeights } from '@chorus/ml';
import { createLocalSecureComputation } from '../session/secure-computation.js';
import { createBackendTrialStore } from '../storage/backend-trial-store.js';
import { createExampleStore } from '../storage/example-store.js';
import { openParticipantDb, type BackendMeasurement, type ParticipantDb } from '../storage/participant-db.js';
import { useMemoryIndexedDb } from '../storage/storage-probe.js';
import { activateBackend, currentWasmVariant, deviceKey, probeBackends, useWasmVariant } from './backend-loader.js';
import { chooseBackend, measureBackend, modelKey } from './backend-trial.js';
import { BACKEND_IDS, isBackendId, type BackendChoice, type BackendId, type TrainerSetup, type TrainerWorkerApi, type TrainProgress, type WorkerTrainRequest } from './trainer-protocol.js';
import { trainReply } from './train-reply.js';
import { chooseWasmVariant } from './wasm-variant.js';
import { installWorkerErrorTransfer } from './worker-errors.js';

installWorkerErrorTransfer();

interface Prepared {
  readonly setup: TrainerSetup;
  readonly db: ParticipantDb;
  readonly model: tf.LayersModel;
  readonly backend: BackendId;
}

let prepared: Prepared | undefined;
/** Secure rounds' keys, shares and kept updates: they live and die in this worker. */
const secure = createLocalSecureComputation();

/** Threads of the wasm backend, once it has started in this worker (0 before). */
async function wasmThreads(): Promise<number> {
  if (!tf.engine().registry.wasm) return 0;
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  return Math.max(1, wasm.getThreadsCount());
}
const running = new Map<string, AbortController>();

function requirePrepared(what: string): Prepared {
  if (!prepared) throw new ChorusError('BAD_REQUEST', `${what}: call prepare() first`);
  return prepared;
}

async function pickBackend(setup: TrainerSetup, db: ParticipantDb): Promise<Omit<BackendChoice, 'parameters' | 'crossOriginIsolated' | 'wasmThreads' | 'wasmVariantReason'>> {
  if (setup.forceBackend) {
    await activateBackend(setup.forceBackend, setup.wasmBaseUrl);
    return { backend: setup.forceBackend, samplesPerSecond: 0, measurements: [], fromCache: false, forced: true };
  }
  const trials = createBackendTrialStore(db);
  const device = await deviceKey();
  const key = modelKey(setup.topology);
  const cached = setup.remeasure ? undefined : await trials.get(device, key);
  if (cached) {
    const best = cached.measurements.find((m) => m.backend === cached.chosen);
    try {
      await activateBackend(cached.chosen as BackendId, setup.wasmBaseUrl);
      return { backend: cached.chosen as BackendId, samplesPerSecond: best?.samplesPerSecond ?? 0, measurements: cached.measurements, fromCache: true, forced: false };
    } catch {
      // The browser changed under the same key (a flag turned off): measure again.
    }
  }
  const { usable, unusable } = await probeBackends(BACKEND_IDS);
  const measurements: BackendMeasurement[] = [...unusable].map(([backend, error]) => ({ backend, samplesPerSecond: 0, error }));
  for (const backend of usable) {
    measurements.push(await measureBackend(backend, setup, { wasmBaseUrl: setup.wasmBaseUrl, batchSize: setup.trialBatchSize, batches: setup.trialBatches }));
  }
  const best = chooseBackend(measurements);
  await activateBackend(best.backend as BackendId, setup.wasmBaseUrl);
  await trials.put(device, key, { chosen: best.backend, measurements, measuredAt: Date.now() });
  return { backend: best.backend as BackendId, samplesPerSecond: best.samplesPerSecond, measurements, fromCache: false, forced: false };
}

/** A template's Keras JSON topology for the set-up's data shape (the worker builds the model from it like any task's). */
function templateTopology(setup: TrainerSetup): unknown {
  const template = getModelTemplate(setup.templateId!);
  const model = template.build({ ...template.data, inputShape: [...setup.inputShape], numClasses: setup.numClasses });
  try {
    return model.toJSON(null, false);
  } finally {
    model.dispose();
  }
}

const api: TrainerWorkerApi = {
  async prepare(input) {
    prepared?.model.dispose();
    prepared = undefined;
    if (input.topology === undefined && !input.templateId) throw new ChorusError('INVALID_CONFIG', 'prepare: give the model as `topology` or `templateId`');
    const setup: TrainerSetup = input.topology === undefined ? { ...input, topology: templateTopology(input) } : input;
    // Read when the wasm backend first starts, so it must be set before any trial.
    useWasmVariant(chooseWasmVariant({ crossOriginIsolated: globalThis.crossOriginIsolated === true, hardwareConcurrency: globalThis.navigator?.hardwareConcurrency, allowThreads: setup.wasmThreads }));
    const db = await openParticipantDb(setup.dbName);
    const choice = await pickBackend(setup, db);
    const model = await modelFromTopology(setup.topology);
    prepared = { setup, db, model, backend: choice.backend };
    return { ...choice, parameters: model.countParams(), crossOriginIsolated: globalThis.crossOriginIsolated === true, wasmThreads: await wasmThreads(), wasmVariantReason: currentWasmVariant().reason };
  },

  async train(request: WorkerTrainRequest, onProgress?: (p: TrainProgress) => void) {
    const { setup, db, model, backend } = requirePrepared('train');
    if (request.taskId !== setup.taskId) throw new ChorusError('BAD_REQUEST', `train: the worker is set up for task "${setup.taskId}", not "${request.taskId}"`);
    const data = await createExampleStore(db).load(setup.taskId, setup.inputShape, setup.numClasses);
    if (data.count === 0) {
      throw new ChorusError('BAD_REQUEST', 'there are no labelled examples on this device yet: load the demo data, draw or import some digits first');
    }
    const controller = new AbortController();
    running.set(request.roundId, controller);
    try {
      const options = {
        random: createSeededRandom(request.seed),
        signal: controller.signal,
        ...(request.dutyCycle !== undefined && request.dutyCycle < 1 ? { afterBatch: dutyCyclePause(request.dutyCycle) } : {}),
        onProgress: (p: { epoch: number; epochs: number; batch: number; batches: number }) =>
          onProgress?.({
            epoch: p.epoch,
            epochs: p.epochs,
            batch: p.batch,
            batchesPerEpoch: p.batches,
            fraction: ((p.epoch - 1) * p.batches + p.batch) / (p.epochs * p.batches),
          }),
      };
      let result: { delta: Float32Array; numExamples: number; metrics: Record<string, number>; personal?: PersonalWeights };
      if (request.personal) {
        // The download holds the shared layers only; the personal ones come from the page's store.
        result = await trainPersonalized(model, data, { layout: request.layout, values: request.globalValues }, request.personal, request.training, options);
      } else {
        writeModelWeights(model, request.globalValues);
        result = await trainLocal(model, data, request.training, options);
      }
      const samplesPerSecond = result.metrics.samplesPerSecond ?? 0;
      // Report what tfjs actually ran on, so a silent fallback would show.
      const ran = tf.getBackend();
      if (!isBackendId(ran)) throw new ChorusError('INTERNAL', `training ran on tfjs backend "${ran}", which the trainer does not know (prepared: "${backend}")`);
      return trainReply(request, result, { backend: ran, samplesPerSecond }, secure);
    } catch (err) {
      if (controller.signal.aborted) throw new ChorusError('ROUND_CLOSED', String(controller.signal.reason ?? 'training was cancelled'));
      throw err;
    } finally {
      running.delete(request.roundId);
      // The progress callback is a comlink proxy holding a MessageChannel open until released.
      (onProgress as { [releaseProxy]?: () => void } | undefined)?.[releaseProxy]?.();
    }
  },

  cancel(roundId, reason) {
    running.get(roundId)?.abort(reason);
  },

  async importShard(taskId, url, dbName) {
    const examples = createExampleStore(await openParticipantDb(dbName));
    const existing = (await examples.count(taskId)).bySource.shard;
    if (existing > 0) return existing;
    const res = await fetch(url);
    if (!res.ok) throw new ChorusError(res.status === 404 ? 'NOT_FOUND' : 'UNAVAILABLE', `could not download the demo data ${url} (HTTP ${res.status})`);
    const ds = decodeDatasetShard(new Uint8Array(await res.arrayBuffer()));
    const rowLen = ds.x.length / Math.max(1, ds.count);
    const rows = Array.from({ length: ds.count }, (_, i) => ({ x: ds.x.slice(i * rowLen, (i + 1) * rowLen), y: ds.y[i]! }));
    return examples.add(taskId, rows, 'shard');
  },

  async measure(backends, batchSize, batches) {
    const { setup } = requirePrepared('measure');
    const out: BackendMeasurement[] = [];
    for (const backend of backends) out.push(await measureBackend(backend, setup, { wasmBaseUrl: setup.wasmBaseUrl, batchSize, batches, budgetMs: 60_000 }));
    // Leave the worker on the backend its model lives on.
    await activateBackend(requirePrepared('measure').backend, setup.wasmBaseUrl);
    return out;
  },

  async probe(backends) {
    const { usable, unusable } = await probeBackends(backends);
    return { usable, unusable: Object.fromEntries(unusable) };
  },

  useMemoryStorage: () => useMemoryIndexedDb(),

  async addExamples(taskId, examples, source, dbName) {
    return createExampleStore(await openParticipantDb(dbName)).add(taskId, examples, source);
  },

  async countExamples(taskId, numClasses, dbName) {
    return createExampleStore(await openParticipantDb(dbName)).count(taskId, numClasses);
  },

  async deleteExamples(taskId, dbName) {
    await createExampleStore(await openParticipantDb(dbName)).deleteAll(taskId);
  },

  secureBegin: (roundId, setup, id) => secure.begin(roundId, setup, id),
  secureShare: (roundId, keys) => secure.share(roundId, keys),
  async secureMask(roundId, shares, update, numExamples) {
    const masked = await secure.mask(roundId, shares, update, numExamples);
    return transfer(masked, [masked.masked.buffer]);
  },
  secureUnmask: (roundId, request) => secure.unmask(roundId, request),
  secureEnd: (roundId) => secure.end(roundId),
};

expose(api);
