/**
 * Update and download compression on the FedAvg paper's 2NN (199,210 parameters): the same seeds,
 * partitions and rounds for every codec, through the real server and Socket.IO via the simulator.
 * Per codec and partition: accuracy at the last round and bytes per client-round up and down.
 *
 *   npm run bench -- compression
 *
 * Reported:
 * - `uplinkRatio`: float32 upload bytes per client-round ÷ those of the smallest codec whose final
 *   accuracy is within 1 percentage point of float32's on every partition (target ≥ 32);
 *   `uplinkCodec` names it and `accuracyDropPp` is its worst drop.
 * - `downlinkRatio`: float32 full-model download bytes (the float32 payload of the model) ÷ bytes
 *   actually sent down per client-round (bytes on the wire as the devices count them: whole
 *   models, version differences, compressed where that helped), the worst over every run above.
 *   Each device is selected about once in 1/C = 10 rounds: a new device rebuilds version 0 from the
 *   task's seed and downloads one int8 difference from it, a returning one a difference from the
 *   version it holds (`?from=`, within int8's stated error); `downlinkRatioEveryRound` measures the same on
 *   COMPRESSION_STEADY_CLIENTS (default 10) devices that all train every round (fraction 1, float32
 *   uploads, one local epoch: it measures bytes), where each device holds the version before. `downloadCostPp` is the accuracy the
 *   lossy-difference definition of versions costs: float32 uploads with `downloadCodec: 'full'`
 *   (exact versions) minus the default, worst partition.
 *
 * Knobs (environment): COMPRESSION_CLIENTS (default 100), COMPRESSION_ROUNDS (default 8, about
 * 4 s a round here, so ~10 minutes for 8 codecs × 2 partitions; 12 rounds take float32 FedAvg past
 * 90 % IID: 91.05 % measured), COMPRESSION_CODECS (comma-separated; default every codec; float32 is
 * always added as the baseline), COMPRESSION_PARTITIONS (default "iid,shards:2"), COMPRESSION_LR
 * (default 0.1), COMPRESSION_DOWNLOAD (the tasks' downloadCodec, default the server's: int8),
 * COMPRESSION_SEED (default 1; the simulator seeds client selection with it, so codecs are compared
 * on the same clients, round for round). The
 * issue's full run, about 15 minutes on 2 cores:
 *   COMPRESSION_ROUNDS=12 npm run bench -- compression
 * Every round trains C = 0.1 of the clients for E = 5 epochs of B = 10 (FedAvg as in bench/fedavg.ts).
 */
import { CODEC_IDS, DOWNLOAD_CODEC_IDS, maxPayloadBytes, type CodecId, type DownloadCodecId } from '@chorus/core';
import { createInitialModel } from '@chorus/ml';
import { runSimulation, type SimulationOptions } from '@chorus/simulator';

const CLIENTS = Number(process.env.COMPRESSION_CLIENTS ?? 100);
const ROUNDS = Number(process.env.COMPRESSION_ROUNDS ?? 8);
const LR = Number(process.env.COMPRESSION_LR ?? 0.1);
const CODECS = (process.env.COMPRESSION_CODECS?.split(',') ?? [...CODEC_IDS]) as CodecId[];
const PARTITIONS = process.env.COMPRESSION_PARTITIONS?.split(',') ?? ['iid', 'shards:2'];
const DOWNLOAD = process.env.COMPRESSION_DOWNLOAD as DownloadCodecId | 'full' | undefined;
const STEADY_CLIENTS = Number(process.env.COMPRESSION_STEADY_CLIENTS ?? 10);
/** Seed of every run (partitions, initial model, client selection, training): the same for every codec. */
const SEED = Number(process.env.COMPRESSION_SEED ?? 1);
if (DOWNLOAD !== undefined && !['full', ...DOWNLOAD_CODEC_IDS].includes(DOWNLOAD)) throw new Error(`COMPRESSION_DOWNLOAD: "${DOWNLOAD}" is not a download codec (full, ${DOWNLOAD_CODEC_IDS.join(', ')})`);
/** The accuracy an accepted codec may lose against float32, in percentage points. */
const MAX_DROP_PP = 1;

for (const c of CODECS) if (!CODEC_IDS.includes(c)) throw new Error(`COMPRESSION_CODECS: "${c}" is not a codec (known: ${CODEC_IDS.join(', ')})`);
if (!CODECS.includes('float32')) CODECS.unshift('float32');

interface Run {
  accuracy: number;
  upPerClientRound: number;
  downPerClientRound: number;
  clientRounds: number;
  seconds: number;
}

async function simulate(codec: CodecId, partition: string, variant: { download?: DownloadCodecId | 'full'; clients?: number; fraction?: number; localEpochs?: number } = {}): Promise<Run> {
  const download = variant.download ?? DOWNLOAD;
  const options: Partial<SimulationOptions> = {
    clients: variant.clients ?? CLIENTS,
    fraction: variant.fraction ?? 0.1,
    ...(download ? { downloadCodec: download } : {}),
    rounds: ROUNDS,
    model: 'mnist-2nn',
    partition,
    localEpochs: variant.localEpochs ?? 5,
    batchSize: 10,
    learningRate: LR,
    codec,
    seed: SEED,
    deadlineMs: 60_000,
  };
  const started = performance.now();
  let up = 0;
  let down = 0;
  let clientRounds = 0;
  let accuracy = 0;
  for await (const r of runSimulation(options)) {
    up += r.bytesUp;
    down += r.bytesDown;
    clientRounds += r.participants;
    accuracy = r.accuracy;
  }
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  const run = { accuracy, upPerClientRound: Math.round(up / clientRounds), downPerClientRound: Math.round(down / clientRounds), clientRounds, seconds };
  process.stderr.write(`[compression] ${codec} ${partition} ${JSON.stringify(variant)}: ${JSON.stringify(run)}\n`);
  return run;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

export async function run(): Promise<Record<string, unknown>> {
  // Bytes only: each of these devices holds 1/STEADY_CLIENTS of the data, so one local epoch keeps a round as long as the others.
  const steady = await simulate('float32', 'iid', { clients: STEADY_CLIENTS, fraction: 1, localEpochs: 1 });
  const results: Record<string, Record<string, Run>> = {};
  for (const codec of CODECS) {
    results[codec] = {};
    for (const p of PARTITIONS) results[codec][p] = await simulate(codec, p);
  }
  // Exact versions, whole downloads: what defining versions by their lossy difference costs.
  const exact: Record<string, Run> = {};
  for (const p of PARTITIONS) exact[p] = await simulate('float32', p, { download: 'full' });
  const base = results.float32!;
  const baseUp = Math.max(...PARTITIONS.map((p) => base[p]!.upPerClientRound));
  const drop = (codec: CodecId): number => Math.max(...PARTITIONS.map((p) => (base[p]!.accuracy - results[codec]![p]!.accuracy) * 100));
  const up = (codec: CodecId): number => Math.max(...PARTITIONS.map((p) => results[codec]![p]!.upPerClientRound));
  // Smallest first; among equal sizes (hadamard1s and hadamard2s), the smaller accuracy drop.
  const eligible = CODECS.filter((c) => drop(c) <= MAX_DROP_PP).sort((a, b) => up(a) - up(b) || drop(a) - drop(b));
  const best = eligible[0] ?? 'float32';
  // The whole float32 model, every client-round: what downloads are measured against.
  const fullDown = maxPayloadBytes((await createInitialModel('mnist-2nn', 1)).layout, 'float32');
  const actualDown = Math.max(...CODECS.flatMap((c) => PARTITIONS.map((p) => results[c]![p]!.downPerClientRound)));
  return {
    model: 'mnist-2nn',
    clients: CLIENTS,
    rounds: ROUNDS,
    learningRate: LR,
    seed: SEED,
    partitions: PARTITIONS,
    uplinkRatio: round2(baseUp / up(best)),
    uplinkCodec: best,
    accuracyDropPp: round2(drop(best)),
    downloadCodec: DOWNLOAD ?? 'int8 (server default)',
    downlinkRatio: round2(fullDown / actualDown),
    downlinkRatioEveryRound: round2(fullDown / steady.downPerClientRound),
    downloadCostPp: round2(Math.max(...PARTITIONS.map((p) => (exact[p]!.accuracy - base[p]!.accuracy) * 100))),
    fullModelBytes: fullDown,
    exactVersions: exact,
    everyRound: { clients: STEADY_CLIENTS, ...steady },
    codecs: Object.fromEntries(
      CODECS.map((c) => [
        c,
        {
          upOverFloat32: round2(baseUp / up(c)),
          accuracyDropPp: round2(drop(c)),
          ...Object.fromEntries(PARTITIONS.map((p) => [p, { ...results[c]![p]!, accuracy: Math.round(results[c]![p]!.accuracy * 10000) / 10000 }])),
        },
      ]),
    ),
  };
}
