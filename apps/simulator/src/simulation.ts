import {
  ChorusError,
  createSeededRandom,
  createSerialQueue,
  decodePayload,
  subsetDataset,
  type Dataset,
  type ModelUpdated,
} from '@chorus/core';
import { createMemoryPersonalLayerStore, createParticipantSession, type ParticipantSession, type PersonalLayerStore } from '@chorus/client';
import { downloadVersion } from './version-download.js';
import { evaluateModel, getModelTemplate, holdoutIndices, writeModelWeights } from '@chorus/ml';
import { clientHoldoutAccuracy } from './client-holdout.js';
import { initNodeBackend } from '@chorus/ml/node';
import { startEmbeddedServer, type EmbeddedServer } from './embedded-server.js';
import { createInbox, createRoundTracker } from './round-tracker.js';
import { createSimulatedTrainer } from './simulated-trainer.js';
import { loadSimulationData } from './simulation-data.js';
import { batchSizeFor, defaultQuorum, resolveSimulationOptions, targetClients, type SimulationOptions } from './simulation-options.js';
import { createTask, startTask, stopTask } from './task-api.js';
import { createSharedModelCaches } from './shared-model-cache.js';

export interface RoundReport {
  readonly round: number;
  /** Global model version the round produced. */
  readonly version: number;
  /** Central held-out test accuracy of that version (0–1). */
  readonly accuracy: number;
  readonly loss: number;
  /**
   * Who computed accuracy/loss: the server's central evaluation, or the simulator itself. A
   * personalized task has no whole global model: its accuracy is the participants' mean on their
   * held-out examples with their own models (`participants`).
   */
  readonly evaluatedBy: 'server' | 'simulator' | 'participants';
  /** With `clientHoldout`: mean over every client of its accuracy on its own held-out examples, with the model it would use now. */
  readonly clientHoldoutAccuracy?: number;
  /** Updates that went into the version. */
  readonly participants: number;
  /** Invited clients whose update did not make it (rejected, cancelled, failed). */
  readonly failures: number;
  /** Update payload bytes all clients uploaded since the previous report. */
  readonly bytesUp: number;
  /** Weight payload bytes all clients downloaded since the previous report. */
  readonly bytesDown: number;
  readonly durationMs: number;
  /** The server's own round metrics, as sent with model:updated. */
  readonly serverMetrics: Readonly<Record<string, number>>;
}

/** Spreads one seed into independent per-client streams. */
const streamSeed = (seed: number, stream: number): number => (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca6b)) >>> 0;

/** Whether client `i` drops out of a round: its own draw per round, so runs with one seed lose the same clients. */
function dropoutDraw(seed: number, i: number, fraction: number): (round: number) => boolean {
  return (round) => createSeededRandom(streamSeed(streamSeed(seed, round), 1_000_000 + i))() < fraction;
}

const ACCURACY_KEYS = ['accuracy', 'evalAccuracy', 'eval_accuracy', 'testAccuracy', 'test_accuracy'];
const LOSS_KEYS = ['loss', 'evalLoss', 'eval_loss', 'testLoss', 'test_loss'];
const PARTICIPANT_KEYS = ['updates', 'participants', 'clients'];
const FAILURE_KEYS = ['failures', 'failed', 'dropouts'];

function pick(metrics: Readonly<Record<string, number>>, keys: readonly string[]): number | undefined {
  for (const k of keys) if (typeof metrics[k] === 'number') return metrics[k];
  return undefined;
}

/**
 * Runs a federated training simulation over real Socket.IO: N participant sessions with their own
 * partitions (MNIST digits, or State of the Union addresses by president) train in this process (one after another, on the wasm backend) against a real
 * server. Yields one report per committed round; closing the generator early (break) cleans up.
 */
export async function* runSimulation(input: Partial<SimulationOptions> = {}): AsyncGenerator<RoundReport, void, undefined> {
  const o = resolveSimulationOptions(input);
  const target = targetClients(o);
  await initNodeBackend('wasm');
  const { clients: clientData, test } = loadSimulationData(o, streamSeed(o.seed, -1));

  let embedded: EmbeddedServer | undefined;
  const sessions: ParticipantSession[] = [];
  const modelCaches = createSharedModelCaches();
  const model = getModelTemplate(o.model).build();
  const queue = createSerialQueue();
  let serverUrl = o.serverUrl;
  let taskId: string | undefined;
  // An external server's admin routes need its operator token (CHORUS_ADMIN_TOKEN); the embedded one makes its own.
  let adminToken = process.env.CHORUS_ADMIN_TOKEN;
  let tracker: ReturnType<typeof createRoundTracker> | undefined;
  const holdouts: { data: Dataset; store: PersonalLayerStore }[] = [];
  try {
    if (!serverUrl) {
      // Seeded selection: with C = 0.1 which clients train decides shards:2 accuracy by points, so
      // runs (and codecs compared in a bench) must pick the same clients for the same seed.
      embedded = await startEmbeddedServer({ random: createSeededRandom(streamSeed(o.seed, -3)) });
      serverUrl = embedded.url;
      adminToken = embedded.adminToken;
    }
    const url = serverUrl;
    const id = o.taskId ?? `sim-${Date.now().toString(36)}-${Math.floor(createSeededRandom(streamSeed(o.seed, -2))() * 1e6).toString(36)}`;
    taskId = (
      await createTask(url, {
        template: o.model,
        seed: o.seed,
        config: {
          id,
          name: `Simulation: ${o.model}, ${o.clients} clients, ${o.partition}`,
          template: o.model,
          training: { localEpochs: o.localEpochs, batchSize: batchSizeFor(o), optimizer: 'sgd', learningRate: o.learningRate, proxMu: 0, maxExamples: o.maxExamples },
          rounds: {
            targetClients: target,
            overSelection: 1,
            // The round closes as soon as all `target` arrive; the quorum only matters at the deadline.
            minClients: o.minClients ?? defaultQuorum(target, o.async?.bufferSize),
            deadlineMs: o.deadlineMs,
            maxRounds: o.rounds,
            minAvailable: target,
            minExamples: 1,
            backends: [],
          },
          strategy: o.strategy,
          codec: o.codec,
          ...(o.downloadCodec ? { downloadCodec: o.downloadCodec } : {}),
          ...(o.privacy ? { privacy: o.privacy } : {}),
          ...(o.personalization ? { personalization: o.personalization } : {}),
          ...(o.secureAggregation ? { secureAggregation: o.secureAggregation } : {}),
          ...(o.async ? { mode: 'async', async: o.async } : {}),
        },
      }, adminToken)
    ).id;

    const holdoutShare = o.personalization ? (o.personalization.holdoutFraction ?? 0.2) : o.clientHoldout;
    for (let i = 0; i < o.clients; i++) {
      let data: Dataset = clientData[i]!;
      data = o.attack?.transformData?.(i, data) ?? data;
      const store = createMemoryPersonalLayerStore();
      let trainData = data;
      if (holdoutShare !== undefined) {
        const split = holdoutIndices(data.count, holdoutShare);
        if (split.holdout.length > 0) {
          holdouts.push({ data: subsetDataset(data, split.holdout), store });
          // A personalized client splits its own examples while training; otherwise keep them out here.
          if (!o.personalization) trainData = subsetDataset(data, split.train);
        }
      }
      sessions.push(
        createParticipantSession({
          serverUrl: url,
          taskId,
          capabilities: { backend: 'wasm', numExamples: data.count, platform: 'chorus-simulator' },
          trainer: createSimulatedTrainer({
            clientIndex: i,
            data: trainData,
            model,
            queue,
            random: createSeededRandom(streamSeed(o.seed, 2 * i)),
            attack: o.attack,
            ...(o.dropout ? { dropsOut: dropoutDraw(o.seed, i, o.dropout) } : {}),
          }),
          random: createSeededRandom(streamSeed(o.seed, 2 * i + 1)),
          // Each device keeps the version it last held, as a browser does, so it can download differences.
          modelCache: modelCaches(),
          personalStore: store,
          // Clients queue behind each other for the shared model, so acks can take a while.
          ackTimeoutMs: 60_000,
        }),
      );
    }
    // One after the other: the server keeps members in join order, which seeded selection draws from.
    for (const s of sessions) await s.start();
    tracker = createRoundTracker(sessions);
    const updates = createInbox<ModelUpdated>();
    sessions[0]!.on('modelUpdated', (m) => updates.push(m));
    await startTask(url, taskId, adminToken);

    let last = performance.now();
    let bytesBefore = tracker.bytes();
    const waitMs = 2 * o.deadlineMs + 60_000;
    for (let reported = 0; reported < o.rounds; ) {
      const update = await updates.next(
        waitMs,
        () => new ChorusError('TIMEOUT', `simulation: no new model version within ${waitMs} ms after round ${reported} (raise deadlineMs?)`),
      );
      if (update.round < 1) continue;
      const clientHoldout =
        o.clientHoldout !== undefined || (o.personalization && holdouts.length > 0)
          ? await clientHoldoutAccuracy({ serverUrl: url, taskId: update.taskId, version: update.version, model, queue, clients: holdouts, personalization: sessions[0]!.joinInfo?.task.personalization })
          : undefined;
      const evaluated = o.personalization ? participantsAccuracy(update, clientHoldout) : await accuracyOf(update, url, model, queue, test);
      const now = performance.now();
      const tally = tracker.get(update.round);
      const bytes = tracker.bytes();
      const participants = pick(update.metrics, PARTICIPANT_KEYS) ?? tally.accepted;
      const report: RoundReport = {
        round: update.round,
        version: update.version,
        accuracy: evaluated.accuracy,
        loss: evaluated.loss,
        evaluatedBy: evaluated.by,
        participants,
        failures: pick(update.metrics, FAILURE_KEYS) ?? Math.max(tally.failed, tally.invited - participants),
        bytesUp: bytes.up - bytesBefore.up,
        bytesDown: bytes.down - bytesBefore.down,
        durationMs: Math.round(now - last),
        serverMetrics: update.metrics,
        ...(clientHoldout !== undefined ? { clientHoldoutAccuracy: clientHoldout } : {}),
      };
      last = now;
      bytesBefore = bytes;
      reported++;
      yield report;
      if (o.targetAccuracy !== undefined && report.accuracy >= o.targetAccuracy) break;
    }
  } finally {
    tracker?.dispose();
    if (taskId && serverUrl) await stopTask(serverUrl, taskId, adminToken);
    await Promise.all(sessions.map((s) => s.close()));
    model.dispose();
    await embedded?.close();
  }
}

/**
 * A personalized task: the mean the participants reported on their held-out examples with their own
 * models. The server publishes none with fewer than 3 reports, and participants of a DP task send
 * none: then the simulator's own scoring of every client's model on its held-out examples.
 */
function participantsAccuracy(update: ModelUpdated, clientHoldout: number | undefined): { accuracy: number; loss: number; by: 'participants' | 'simulator' } {
  const loss = update.metrics.client_loss ?? 0;
  const reported = update.metrics.client_holdoutPersonalAccuracy;
  if (reported === undefined && clientHoldout !== undefined) return { accuracy: clientHoldout, loss, by: 'simulator' };
  return { accuracy: reported ?? 0, loss, by: 'participants' };
}

/** The server's central evaluation when it sent one; otherwise evaluate the version here. */
async function accuracyOf(
  update: ModelUpdated,
  serverUrl: string,
  model: ReturnType<ReturnType<typeof getModelTemplate>['build']>,
  queue: ReturnType<typeof createSerialQueue>,
  test: Dataset,
): Promise<{ accuracy: number; loss: number; by: 'server' | 'simulator' }> {
  const accuracy = pick(update.metrics, ACCURACY_KEYS);
  const loss = pick(update.metrics, LOSS_KEYS);
  // Without central evaluation the strategy's own "accuracy" is the clients' training mean (the
  // same number as client_accuracy): that is not a test accuracy, so evaluate here instead.
  const isClientMean = accuracy === update.metrics.client_accuracy && loss === update.metrics.client_loss;
  if (accuracy !== undefined && loss !== undefined && !isClientMean) return { accuracy, loss, by: 'server' };
  const bytes = await downloadVersion(serverUrl, update.taskId, update.version);
  const weights = decodePayload(bytes);
  const result = await queue.run(async () => {
    writeModelWeights(model, weights.values);
    return evaluateModel(model, test);
  });
  return { ...result, by: 'simulator' };
}
