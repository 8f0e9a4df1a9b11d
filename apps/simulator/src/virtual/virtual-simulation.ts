import pino from 'pino';
import {
  ChorusError,
  PROTOCOL_VERSION,
  applyLocalDp,
  clipToNorm,
  createSeededRandom,
  createSerialQueue,
  createStrategy,
  decodePayload,
  encodePayload,
  layoutSize,
  maxPayloadBytes,
  parsePayload,
  roundCodecSeed,
  subsetDataset,
  type RoundInvite,
  type ServerToClientEvents,
} from '@chorus/core';
import { RoundEngine, SqliteStorage, createTaskFromTemplate } from '@chorus/server';
import { evaluateModel, getModelTemplate, writeModelWeights } from '@chorus/ml';
import { initNodeBackend } from '@chorus/ml/node';
import { createSimulatedTrainer } from '../simulated-trainer.js';
import { loadSimulationData } from '../simulation-data.js';
import { batchSizeFor, defaultQuorum, targetClients } from '../simulation-options.js';
import { drawDeviceTraits, exponential, leaveChance, transferMs, type DeviceProfile, type DeviceTraits } from './device-profile.js';
import { VirtualClock } from './virtual-clock.js';
import { resolveVirtualOptions, type VirtualSimulationInput, type VirtualSimulationOptions } from './virtual-options.js';

/** One committed version, as the virtual-clock simulation saw it. */
export interface VirtualRoundReport {
  readonly round: number;
  readonly version: number;
  /** Test accuracy of the version (0–1), scored here on `evalExamples` held-out examples. */
  readonly accuracy: number;
  readonly loss: number;
  /** Simulated time since the task started, milliseconds. */
  readonly simulatedMs: number;
  /** Real time since the simulation started, milliseconds. */
  readonly wallMs: number;
  /** Updates that went into the version. */
  readonly participants: number;
  /** Devices online when the version was committed. */
  readonly online: number;
  /** Work thrown away since the previous report: updates cancelled or refused as late or stale. */
  readonly wastedUpdates: number;
  /** Devices that left while working on an update, since the previous report. */
  readonly dropped: number;
  readonly serverMetrics: Readonly<Record<string, number>>;
}

export interface VirtualSimulationResult {
  readonly profile: DeviceProfile;
  readonly seed: number;
  readonly rounds: VirtualRoundReport[];
  readonly final: {
    readonly accuracy: number;
    readonly loss: number;
    readonly versions: number;
    readonly simulatedMs: number;
    readonly wallMs: number;
    /** Updates that reached the server and were accepted. */
    readonly acceptedUpdates: number;
    /** Distinct devices that had at least one update accepted (a fast device may deliver many). */
    readonly participants: number;
    /** Updates trained (or begun) and discarded as late or stale: cancelled at a round's close, or refused. */
    readonly wastedUpdates: number;
    /** Device time spent on that discarded work, simulated milliseconds. */
    readonly wastedDeviceMs: number;
    readonly dropped: number;
    /** Refusals by error code (STALE_VERSION, ROUND_CLOSED, STALE_UPDATE, …). */
    readonly refusedByCode: Readonly<Record<string, number>>;
    /** Why the run ended. */
    readonly stoppedBy: 'rounds' | 'target-accuracy' | 'time-budget' | 'no-events';
  };
}

interface Work {
  readonly invite: RoundInvite;
  readonly weights: Float32Array;
  readonly startedAt: number;
  timer: ReturnType<VirtualClock['setTimer']>;
}

interface Device {
  readonly index: number;
  readonly traits: DeviceTraits;
  readonly random: () => number;
  participantId?: string;
  connectionId: string | null;
  sessions: number;
  work: Work | null;
  /** The newest version it keeps exactly (a browser's model cache in IndexedDB), or null. */
  held: number | null;
  churnTimer: ReturnType<VirtualClock['setTimer']> | null;
  reconnectTimer: ReturnType<VirtualClock['setTimer']> | null;
}

const MINUTE = 60_000;
/** Spreads one seed into independent streams (the same mix as the socket simulation). */
const streamSeed = (seed: number, stream: number): number => (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca6b)) >>> 0;

/**
 * Runs the real round engine (strategies, aggregators, selection, SQLite in memory) in this process
 * against a virtual clock, with simulated devices drawn from a device profile: each takes the time
 * its download, training (examples ÷ its speed) and upload would take on its device, may leave in
 * the middle, comes and goes with churn, and really trains the tfjs model on its own partition when
 * its simulated work completes. Work cancelled before it completes is never computed (it would be
 * thrown away), so wall time is spent only on updates that reach the server. Deterministic from the seed.
 */
export async function runVirtualSimulation(input: VirtualSimulationInput | VirtualSimulationOptions, onRound?: (r: VirtualRoundReport) => void): Promise<VirtualSimulationResult> {
  // Resolving is idempotent: already-resolved options (the CLI's) pass through unchanged.
  const o = resolveVirtualOptions(input as VirtualSimulationInput);
  const wallStart = performance.now();
  await initNodeBackend('wasm');
  const data = loadSimulationData(o, streamSeed(o.seed, -1));
  const test = o.evalExamples > 0 && o.evalExamples < data.test.count ? subsetDataset(data.test, Array.from({ length: o.evalExamples }, (_, i) => i)) : data.test;
  const model = getModelTemplate(o.model).build();
  const queue = createSerialQueue();
  const clock = new VirtualClock(0);
  const logger = pino({ level: 'silent' });
  const storage = new SqliteStorage({ path: ':memory:' });
  const pending = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>): void => {
    pending.add(p);
    void p.finally(() => pending.delete(p)).catch(() => undefined);
  };
  const devices: Device[] = [];
  const byConnection = new Map<string, Device>();
  const committed: { version: number; round: number; metrics: Record<string, number>; weights: Float32Array; at: number }[] = [];
  const tally = { accepted: 0, wasted: 0, wastedMs: 0, dropped: 0, refused: {} as Record<string, number> };
  const contributors = new Set<number>();
  let taskId = '';
  let stopping = false;

  const engine: RoundEngine = new RoundEngine({
    storage,
    logger,
    clock,
    random: createSeededRandom(streamSeed(o.seed, -3)),
    createStrategy,
    payload: { encode: (flat, codec) => encodePayload(flat, codec), decode: decodePayload, parse: parsePayload, maxBytes: maxPayloadBytes },
    transport: {
      send<E extends keyof ServerToClientEvents>(connectionId: string, event: E, msg: Parameters<ServerToClientEvents[E]>[0]) {
        const d = byConnection.get(connectionId);
        if (!d) return;
        if (event === 'round:invite') startWork(d, msg as RoundInvite);
        else if (event === 'round:cancel') cancelWork(d, (msg as { roundId: string }).roundId);
      },
      broadcast<E extends keyof ServerToClientEvents>(_taskId: string, event: E, msg: Parameters<ServerToClientEvents[E]>[0]) {
        if (event !== 'model:updated') return;
        const m = msg as { version: number; round: number; metrics: Record<string, number> };
        committed.push({ version: m.version, round: m.round, metrics: { ...m.metrics }, weights: engine.globalWeights(taskId), at: clock.now() });
      },
    },
  });

  const profile = o.profile;
  const onlineShare = profile.meanOfflineMin === 0 ? 1 : profile.meanOnlineMin / (profile.meanOnlineMin + profile.meanOfflineMin);
  let modelBytes = 0;
  let updateBytes = 0;
  /** One difference in the task's download codec (0: 'full', every download is the whole model). */
  let differenceBytes = 0;
  let seededVersion0 = false;

  /**
   * What a browser's session downloads for the invited version (client's fetchGlobalModel): nothing
   * for a version it keeps or version 0 it rebuilds from the task's seed; one difference from the
   * version it holds (the exact one from v − 1, else one int8 difference `?from=`); the whole model
   * when it holds nothing. Only a whole model or an exact difference leaves an exact copy it keeps.
   */
  function download(d: Device, version: number): { bytes: number; keeps: boolean } {
    const base = d.held ?? (seededVersion0 ? 0 : null);
    if (base === version) return { bytes: 0, keeps: true };
    if (base === null || differenceBytes === 0) return { bytes: modelBytes, keeps: true };
    return { bytes: differenceBytes, keeps: base === version - 1 };
  }

  function examplesPerRound(count: number): number {
    return (o.maxExamples > 0 ? Math.min(count, o.maxExamples) : count) * o.localEpochs;
  }

  function startWork(d: Device, invite: RoundInvite): void {
    if (d.work || !d.connectionId) return;
    const examples = examplesPerRound(data.clients[d.index]!.count);
    const down = download(d, invite.version);
    const downMs = down.bytes > 0 ? transferMs(down.bytes, d.traits.downloadMbps, profile.latencyMs) : 0;
    if (down.keeps) d.held = Math.max(d.held ?? 0, invite.version);
    const trainMs = (examples / d.traits.examplesPerSec) * 1000;
    const upMs = transferMs(updateBytes, d.traits.uploadMbps, profile.latencyMs);
    const total = downMs + trainMs + upMs;
    const work: Work = { invite, weights: engine.globalWeights(taskId), startedAt: clock.now(), timer: { id: 0 } };
    d.work = work;
    if (d.random() < leaveChance(profile, total)) {
      // The tab closes (or the network drops) part-way through: the work is lost with the device.
      work.timer = clock.setTimer(() => {
        tally.dropped += 1;
        dropOut(d);
      }, d.random() * total);
    } else {
      work.timer = clock.setTimer(() => track(finishWork(d, work)), total);
    }
  }

  function cancelWork(d: Device, roundId: string): void {
    const w = d.work;
    // Work cut short because the simulation ends is not waste of the method under test.
    if (!w || w.invite.roundId !== roundId || stopping) return;
    clock.clearTimer(w.timer);
    d.work = null;
    tally.wasted += 1;
    tally.wastedMs += clock.now() - w.startedAt;
  }

  async function finishWork(d: Device, w: Work): Promise<void> {
    if (d.work !== w || !d.connectionId) return;
    const connectionId = d.connectionId;
    const layout = engine.task(taskId).layout;
    const trainer = trainers[d.index]!;
    const result = await trainer.train(w.invite, { layout, values: w.weights }, new AbortController().signal);
    const localDp = o.privacy?.localDp;
    // Local DP as the participant page applies it (privateUpdate): clipped to C and noised before it
    // leaves the device. The noise is drawn from the device's seeded stream so a run stays
    // reproducible; that is fine in a simulation, never in a browser (a guessed seed undoes it).
    const delta = localDp ? Float32Array.from(result.delta) : result.delta;
    if (localDp) applyLocalDp(delta, localDp, d.random);
    const bound = w.invite.maxUpdateNorm;
    const values = bound === undefined ? delta : clipToNorm(delta, bound * 0.95);
    const bytes = encodePayload({ layout, values }, w.invite.codec, d.random, { seed: roundCodecSeed(w.invite.roundId) });
    const begin = { taskId, roundId: w.invite.roundId, version: w.invite.version, numExamples: result.numExamples, byteLength: bytes.byteLength, metrics: finiteMetrics(result.metrics) };
    d.work = null;
    try {
      engine.beginUpdate(connectionId, begin);
      const receipt = engine.submitUpdate(connectionId, begin, bytes);
      if (receipt.accepted) {
        tally.accepted += 1;
        contributors.add(d.index);
      } else refuse(receipt.code ?? 'REFUSED', w);
    } catch (err) {
      refuse(ChorusError.from(err).code, w);
    }
  }

  function refuse(code: string, w: Work): void {
    tally.wasted += 1;
    tally.wastedMs += clock.now() - w.startedAt;
    tally.refused[code] = (tally.refused[code] ?? 0) + 1;
  }

  function goOnline(d: Device, newSession = true): void {
    const connectionId = `d${d.index}.${d.sessions++}`;
    d.connectionId = connectionId;
    byConnection.set(connectionId, d);
    const capabilities = { backend: 'wasm', numExamples: data.clients[d.index]!.count, samplesPerSecond: d.traits.examplesPerSec, platform: 'chorus-virtual' };
    track(
      (async () => {
        const res = await engine.join({ protocolVersion: PROTOCOL_VERSION, taskId, capabilities, ...(d.participantId ? { participantId: d.participantId } : {}) });
        d.participantId = res.participantId;
        if (d.connectionId === connectionId) engine.attach(connectionId, taskId, res.participantId, capabilities);
      })(),
    );
    if (newSession) scheduleChurn(d, exponential(profile.meanOnlineMin * MINUTE, d.random), () => goOffline(d));
  }

  function goOffline(d: Device): void {
    if (d.reconnectTimer) clock.clearTimer(d.reconnectTimer);
    d.reconnectTimer = null;
    if (d.work) clock.clearTimer(d.work.timer);
    d.work = null;
    if (d.connectionId) {
      byConnection.delete(d.connectionId);
      engine.detach(d.connectionId);
    }
    d.connectionId = null;
    scheduleChurn(d, profile.meanOfflineMin === 0 ? 0 : exponential(profile.meanOfflineMin * MINUTE, d.random), () => goOnline(d));
  }

  /** A dropped connection: the device comes back soon on a new one, unless its session ends first (the churn timer). */
  function dropOut(d: Device): void {
    d.work = null;
    if (d.connectionId) {
      byConnection.delete(d.connectionId);
      engine.detach(d.connectionId);
    }
    d.connectionId = null;
    // The session's end (churn) clears this timer: a device never comes back after its session ended.
    d.reconnectTimer = clock.setTimer(() => {
      d.reconnectTimer = null;
      if (!d.connectionId) goOnline(d, false);
    }, exponential(profile.reconnectMin * MINUTE, d.random));
  }

  function scheduleChurn(d: Device, ms: number, fn: () => void): void {
    if (d.churnTimer) clock.clearTimer(d.churnTimer);
    d.churnTimer = clock.setTimer(() => {
      d.churnTimer = null;
      fn();
    }, ms);
  }

  async function settle(): Promise<void> {
    for (;;) {
      while (pending.size > 0) await Promise.allSettled([...pending]);
      await engine.idle();
      if (pending.size === 0) return;
    }
  }

  const trainers = data.clients.map((clientData, i) => createSimulatedTrainer({ clientIndex: i, data: clientData, model, queue, random: createSeededRandom(streamSeed(o.seed, 2 * i)) }));
  const reports: VirtualRoundReport[] = [];
  let stoppedBy: VirtualSimulationResult['final']['stoppedBy'] = 'no-events';
  try {
    await engine.init();
    const target = targetClients(o);
    const stored = await createTaskFromTemplate(
      engine,
      {
        template: o.model,
        seed: o.seed,
        config: {
          id: `virtual-${o.seed}`,
          name: `Virtual-clock simulation: ${o.model}, ${o.clients} devices (${profile.id}), ${o.partition}`,
          template: o.model,
          training: { localEpochs: o.localEpochs, batchSize: batchSizeFor(o), optimizer: 'sgd', learningRate: o.learningRate, proxMu: 0, maxExamples: o.maxExamples },
          rounds: { targetClients: target, overSelection: o.overSelection, minClients: o.minClients ?? defaultQuorum(target, o.taskExtras?.mode === 'async' ? (o.taskExtras.async as { bufferSize?: number } | undefined)?.bufferSize : undefined), deadlineMs: o.deadlineMs, maxRounds: 0, minAvailable: target, minExamples: 1, backends: [] },
          strategy: o.strategy,
          codec: o.codec,
          ...(o.privacy ? { privacy: o.privacy } : {}),
          ...(o.selection.id !== 'uniform' || Object.keys(o.selection.options).length > 0 ? { selection: o.selection } : {}),
          ...o.taskExtras,
        },
      },
      logger,
    );
    taskId = stored.id;
    const layout = stored.layout;
    const size = layoutSize(layout);
    modelBytes = maxPayloadBytes(layout, 'float32');
    updateBytes = encodePayload({ layout, values: new Float32Array(size) }, o.codec, createSeededRandom(1)).byteLength;
    const downloadCodec = stored.config.downloadCodec;
    differenceBytes = downloadCodec === 'full' ? 0 : encodePayload({ layout, values: new Float32Array(size) }, downloadCodec, createSeededRandom(1)).byteLength;
    seededVersion0 = stored.config.initialSeed !== undefined;
    for (let i = 0; i < o.clients; i++) {
      const random = createSeededRandom(streamSeed(o.seed, 1_000_000 + i));
      const d: Device = { index: i, traits: drawDeviceTraits(profile, random), random, connectionId: null, sessions: 0, work: null, held: null, churnTimer: null, reconnectTimer: null };
      devices.push(d);
      if (random() < onlineShare) goOnline(d);
      else scheduleChurn(d, exponential(profile.meanOfflineMin * MINUTE, random), () => goOnline(d));
    }
    await settle();
    await engine.start(taskId);
    const budgetMs = o.timeBudgetMin * MINUTE;
    let reportedWaste = { wasted: 0, dropped: 0 };
    outer: for (;;) {
      await settle();
      while (committed.length > 0) {
        const c = committed.shift()!;
        const scored = await queue.run(async () => {
          writeModelWeights(model, c.weights);
          return evaluateModel(model, test);
        });
        const report: VirtualRoundReport = {
          round: c.round,
          version: c.version,
          accuracy: scored.accuracy,
          loss: scored.loss,
          simulatedMs: Math.round(c.at),
          wallMs: Math.round(performance.now() - wallStart),
          participants: c.metrics.updates ?? 0,
          online: byConnection.size,
          wastedUpdates: tally.wasted - reportedWaste.wasted,
          dropped: tally.dropped - reportedWaste.dropped,
          serverMetrics: c.metrics,
        };
        reportedWaste = { wasted: tally.wasted, dropped: tally.dropped };
        reports.push(report);
        onRound?.(report);
        if (o.targetAccuracy !== undefined && report.accuracy >= o.targetAccuracy) {
          stoppedBy = 'target-accuracy';
          break outer;
        }
        if (reports.length >= o.rounds) {
          stoppedBy = 'rounds';
          break outer;
        }
      }
      const due = clock.nextDue();
      if (due === undefined) break;
      if (budgetMs > 0 && due > budgetMs) {
        stoppedBy = 'time-budget';
        break;
      }
      clock.fireNext();
    }
    stopping = true;
    await engine.close();
  } finally {
    model.dispose();
    await storage.close();
  }
  const last = reports.at(-1);
  return {
    profile,
    seed: o.seed,
    rounds: reports,
    final: {
      accuracy: last?.accuracy ?? 0,
      loss: last?.loss ?? 0,
      versions: reports.length,
      simulatedMs: Math.round(stoppedBy === 'time-budget' ? o.timeBudgetMin * MINUTE : clock.now()),
      wallMs: Math.round(performance.now() - wallStart),
      acceptedUpdates: tally.accepted,
      participants: contributors.size,
      wastedUpdates: tally.wasted,
      wastedDeviceMs: Math.round(tally.wastedMs),
      dropped: tally.dropped,
      refusedByCode: tally.refused,
      stoppedBy,
    },
  };
}

/** Only finite metrics travel (the protocol rejects others). */
function finiteMetrics(metrics: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter(([, v]) => Number.isFinite(v)).slice(0, 32));
}
