import { describe, expect, it } from 'vitest';
import { decodePayload, encodePayload, getCodec, planPrivacy, topKCount, type TensorSpec } from '@chorus/core';
import { downloadBytes } from '@chorus/client';
import { downloadVersion } from './version-download.js';
import { collectReports, useEmbeddedServer } from './embedded-server.test-helper.js';

const embedded = useEmbeddedServer();

/** What the 2NN cases share: every client in each of two rounds, two digits per client. */
const TWO_ROUNDS_2NN = { fraction: 1, rounds: 2, partition: 'shards:2', model: 'mnist-2nn', batchSize: 20, learningRate: 0.1 } as const;

// The 2NN without its output head: dense1 (784×200 + 200) and dense2 (200×200 + 200).
const SHARED: TensorSpec[] = [
  { name: 'dense1/kernel', shape: [784, 200] },
  { name: 'dense1/bias', shape: [200] },
  { name: 'dense2/kernel', shape: [200, 200] },
  { name: 'dense2/bias', shape: [200] },
];
/** A float32 payload of the shared layers (197,200 values): what each personalized upload must be. */
const SHARED_FLOAT32_BYTES = encodePayload({ layout: SHARED, values: new Float32Array(197_200) }, 'float32').byteLength;

describe('FedPer and FedRep through the simulator (embedded server, real Socket.IO)', () => {
  it.each(['fedper', 'fedrep'] as const)('%s: only the shared layers travel, both ways, and each client scores its own model on held-out examples', async (method) => {
    // Prepare
    const taskId = `sim-${method}`;
    // Execute
    const reports = await collectReports({
      serverUrl: embedded().url,
      taskId,
      clients: 4,
      ...TWO_ROUNDS_2NN,
      seed: 3,
      codec: 'float32',
      personalization: { method },
    });
    // Assert: the server's model is the shared layers only
    const global = decodePayload(await downloadVersion(embedded().url, taskId, 2));
    expect(global.layout).toEqual(SHARED);
    // Every upload is exactly a float32 payload of the shared layers (no head bytes). Bytes are
    // counted between reports, and the next round may start before a report is out: sum them.
    const up = reports.reduce((s, r) => s + r.bytesUp, 0);
    const down = reports.reduce((s, r) => s + r.bytesDown, 0);
    expect(up).toBe(8 * SHARED_FLOAT32_BYTES);
    // Downloads hold the shared layers only: each client's first version is rebuilt from the task's
    // seed (the shared layers of version 0), the next is the (int8) difference of the shared layers
    // from the version it holds: well under a shared payload per client-round.
    expect(down).toBeGreaterThan(0);
    expect(down).toBeLessThan(SHARED_FLOAT32_BYTES); // four int8 differences of at most a quarter each
    const delta = decodePayload(await downloadBytes(`${embedded().url}/api/tasks/${taskId}/versions/2/delta`, { fetch: (u, init) => fetch(u, init) }));
    expect(delta.layout).toEqual(SHARED);
    for (const r of reports) {
      expect(r.participants).toBe(4);
      expect(r.evaluatedBy).toBe('participants');
      expect(r.serverMetrics.client_holdoutPersonalAccuracy).toBeGreaterThan(0);
      expect(r.serverMetrics.client_holdoutSharedAccuracy).toBeGreaterThanOrEqual(0);
      expect(r.serverMetrics.personalGainClients).toBe(4);
      expect(r.clientHoldoutAccuracy).toBeGreaterThan(0);
      // FedRep trained the head first, with the shared layers frozen, and reported its loss
      if (method === 'fedrep') expect(r.serverMetrics.client_headLoss).toBeGreaterThan(0);
      else expect(r.serverMetrics.client_headLoss).toBeUndefined();
    }
    // Two label classes per client: its own head beats chance (10%) on its own held-out digits
    expect(reports[1]!.accuracy).toBeGreaterThan(0.5);
  }, 240_000);
});

describe('FedPer with secure aggregation (embedded server, real Socket.IO)', () => {
  it('the secure sum is over the shared layers; each client keeps its head and scores its own model', async () => {
    // Prepare
    const taskId = 'sim-fedper-secure';
    // Execute
    const reports = await collectReports({
      serverUrl: embedded().url,
      taskId,
      clients: 5,
      ...TWO_ROUNDS_2NN,
      maxExamples: 100,
      seed: 5,
      minClients: 4,
      personalization: { method: 'fedper' },
      secureAggregation: { neighbours: 4, threshold: 3 },
      clientHoldout: 0.2,
    });
    // Assert: both rounds committed from the masked sum of every client, over the shared layers only
    expect(reports.map((r) => r.participants)).toEqual([5, 5]);
    const global = decodePayload(await downloadVersion(embedded().url, taskId, 2));
    expect(global.layout).toEqual(SHARED);
    // Each client's own model, scored on its own held-out digits (the server sees no per-client metric
    // in a secure round, so the gains panel has nothing to draw: that is the point).
    expect(reports[1]!.clientHoldoutAccuracy).toBeGreaterThan(0.5);
  }, 240_000);
});

describe('Ditto through the simulator (embedded server, real Socket.IO)', () => {
  it('the whole model travels, each client keeps its own copy apart, and the server scores the shared model', async () => {
    // Prepare
    const taskId = 'sim-ditto';
    // Execute
    const reports = await collectReports({
      serverUrl: embedded().url,
      taskId,
      clients: 4,
      ...TWO_ROUNDS_2NN,
      seed: 3,
      codec: 'float32',
      personalization: { method: 'ditto', lambda: 0.5 },
    });
    // Assert: the server keeps the whole 2NN (head included), so every upload is the whole model
    const global = decodePayload(await downloadVersion(embedded().url, taskId, 2));
    expect(global.layout).toEqual([...SHARED, { name: 'output/kernel', shape: [200, 10] }, { name: 'output/bias', shape: [10] }]);
    const wholePayload = encodePayload({ layout: global.layout, values: new Float32Array(199_210) }, 'float32').byteLength;
    expect(reports.reduce((s, r) => s + r.bytesUp, 0)).toBe(8 * wholePayload);
    for (const r of reports) {
      expect(r.participants).toBe(4);
      expect(r.serverMetrics.personalGainClients).toBe(4);
      expect(r.serverMetrics.client_holdoutPersonalAccuracy).toBeGreaterThan(0);
      // The server holds the whole model, so it scores it centrally as well.
      expect(r.serverMetrics.accuracy).toBeGreaterThan(0);
      expect(r.clientHoldoutAccuracy).toBeGreaterThan(0);
    }
    // Two digits per client: its own model, pulled towards the shared one, beats chance on its own digits
    expect(reports[1]!.clientHoldoutAccuracy).toBeGreaterThan(0.5);
  }, 240_000);
});

describe('The keyboard task with a personal output layer (FedPer on nextword-gru)', () => {
  it('keeps each president’s output layer on the client: only the embedding and the GRU travel', async () => {
    // Prepare
    const taskId = 'sim-nextword-fedper';
    // Execute
    const reports = await collectReports({
      serverUrl: embedded().url,
      taskId,
      model: 'nextword-gru',
      clients: 5,
      fraction: 1,
      rounds: 2,
      localEpochs: 1,
      batchSize: 20,
      learningRate: 1,
      maxExamples: 100,
      codec: 'float32',
      seed: 3,
      personalization: { method: 'fedper' },
    });
    // Assert: the server's model has no output layer
    const global = decodePayload(await downloadVersion(embedded().url, taskId, 2));
    const layers = new Set(global.layout.map((t) => t.name.split('/')[0]));
    expect([...layers]).toEqual(['embedding', 'gru']);
    const sharedPayload = encodePayload({ layout: global.layout, values: new Float32Array(global.values.length) }, 'float32').byteLength;
    expect(reports.reduce((s, r) => s + r.bytesUp, 0)).toBe(10 * sharedPayload);
    for (const r of reports) {
      expect(r.participants).toBe(5);
      expect(r.evaluatedBy).toBe('participants');
      expect(r.serverMetrics.personalGainClients).toBe(5);
    }
    // Each president's own output layer, after two rounds, predicts their next words better than chance (1/256)
    expect(reports[1]!.serverMetrics.client_holdoutPersonalAccuracy).toBeGreaterThan(0.02);
    expect(reports[1]!.clientHoldoutAccuracy).toBeGreaterThan(0.02);
  }, 600_000);
});

/** Bytes of the payload header of the shared layout: a float32 payload less its 4-byte values. */
const sharedHeaderBytes = (): number => encodePayload({ layout: SHARED, values: new Float32Array(197_200) }, 'float32').byteLength - getCodec('float32').bodyBytes(197_200);

async function receiptsOf(taskId: string, round: number): Promise<{ accepted: boolean; bytes: number; l2Norm: number | null }[]> {
  const res = await fetch(`${embedded().url}/api/tasks/${taskId}/rounds/${round}/receipts`, { headers: { authorization: `Bearer ${embedded().adminToken}` } });
  return ((await res.json()) as { receipts: { accepted: boolean; bytes: number; l2Norm: number | null }[] }).receipts;
}

describe('FedPer with central DP (embedded server, real Socket.IO)', () => {
  it('clips and noises the shared layers only: uploads are shared payloads, ε is a plain DP run’s, and no held-out figure reaches the server', async () => {
    // Prepare
    const taskId = 'sim-fedper-dp';
    const dp = { clipNorm: 0.5, noiseMultiplier: 0.3, sampleRate: 0.2 };
    // Execute
    const reports = await collectReports({
      serverUrl: embedded().url,
      taskId,
      clients: 4,
      ...TWO_ROUNDS_2NN,
      maxExamples: 100,
      seed: 4,
      codec: 'float32',
      strategy: { id: 'fedavg', options: { dp } },
      personalization: { method: 'fedper' },
    });
    // Assert: every upload is a float32 payload of the shared layers (the head never travels) ...
    expect(reports.reduce((s, r) => s + r.bytesUp, 0)).toBe(8 * SHARED_FLOAT32_BYTES);
    // ... so the accountant sees the same releases as a non-personalized DP-FedAvg run: the same ε
    // after each round for the same q, z and rounds.
    expect(reports.map((r) => r.participants)).toEqual([4, 4]);
    reports.forEach((r, i) => expect(r.serverMetrics.epsilon).toBeCloseTo(planPrivacy({ noiseMultiplier: 0.3, sampleRate: 0.2, delta: 1e-5, rounds: i + 1 }).epsilon, 9));
    // The devices of a DP task keep their held-out figures: nothing noises them.
    for (const r of reports) {
      expect(r.serverMetrics.client_holdoutSharedAccuracy).toBeUndefined();
      expect(r.serverMetrics.client_holdoutPersonalAccuracy).toBeUndefined();
      expect(r.serverMetrics.client_personalGainPp).toBeUndefined();
      expect(r.serverMetrics.personalGainClients).toBeUndefined();
      expect(r.evaluatedBy).toBe('simulator');
    }
    // The simulator's own scoring of each client's model on its held-out digits: above chance (10%)
    expect(reports[1]!.clientHoldoutAccuracy).toBeGreaterThan(0.3);
  }, 240_000);
});

/** Indices of the k largest |v|, increasing: written here, not taken from the codec. */
function largest(v: Float32Array, k: number): number[] {
  return [...v.keys()].sort((a, b) => Math.abs(v[b]!) - Math.abs(v[a]!)).slice(0, k).sort((a, b) => a - b);
}

/** LEB128 bytes of the gaps between increasing indices (the first from −1), as top-k's index list. */
function varintIndexBytes(indices: readonly number[]): number {
  let n = 0;
  let previous = -1;
  for (const i of indices) {
    const gap = i - previous - 1;
    n += gap < 0x80 ? 1 : gap < 0x4000 ? 2 : gap < 0x200000 ? 3 : 4;
    previous = i;
  }
  return n;
}

describe('FedPer with uplink codecs (embedded server, real Socket.IO)', () => {
  it.each(['topk', 'hadamard2'] as const)('%s: uploads are the codec on the shared layout, with error feedback kept on it', async (codec) => {
    // Prepare: record each client's shared delta as trained (before the session encodes it)
    const taskId = `sim-fedper-${codec}`;
    const deltas = new Map<number, Float32Array[]>();
    // Execute
    const reports = await collectReports({
      serverUrl: embedded().url,
      taskId,
      clients: 4,
      ...TWO_ROUNDS_2NN,
      maxExamples: 100,
      seed: 6,
      codec,
      personalization: { method: 'fedper' },
      attack: { transformDelta: (i, delta) => void deltas.set(i, [...(deltas.get(i) ?? []), Float32Array.from(delta)]) },
    });
    const rounds = [await receiptsOf(taskId, 1), await receiptsOf(taskId, 2)];
    // Assert: both rounds committed with every client's update accepted (the server checks each
    // against the shared layout: a top-k of the whole model would carry the wrong k)
    expect(reports.map((r) => r.participants)).toEqual([4, 4]);
    expect(rounds.map((rs) => rs.map((r) => r.accepted))).toEqual([[true, true, true, true], [true, true, true, true]]);
    const header = sharedHeaderBytes();
    if (codec === 'hadamard2') {
      for (const rs of rounds) expect(rs.map((r) => r.bytes)).toEqual(new Array(4).fill(header + getCodec('hadamard2').bodyBytes(197_200)));
      return;
    }
    // topk: k = 1% of the shared values. Round 1 sends each client's k largest; the rest is its
    // residual, added to its round-2 delta before the next k largest are picked. Sizes (12-byte
    // body header, k float32 values, the index list) and decoded norms must match that, per client.
    const k = topKCount(197_200);
    expect(k).toBe(1972);
    const expected = [0, 1].map((round) =>
      [...deltas.values()].map((d) => {
        let input = d[round]!;
        if (round === 1) {
          const residual = Float32Array.from(d[0]!);
          for (const i of largest(d[0]!, k)) residual[i] = 0;
          input = Float32Array.from(input, (v, i) => v + residual[i]!);
        }
        const picked = largest(input, k);
        return { bytes: header + 12 + 4 * k + varintIndexBytes(picked), norm: Math.sqrt(picked.reduce((s, i) => s + input[i]! ** 2, 0)) };
      }),
    );
    expect(deltas.size).toBe(4);
    for (const round of [0, 1]) {
      const byNorm = (a: { norm: number }, b: { norm: number }) => a.norm - b.norm;
      const got = rounds[round]!.map((r) => ({ bytes: r.bytes, norm: r.l2Norm! })).sort(byNorm);
      const want = expected[round]!.sort(byNorm);
      expect(got.map((g) => g.bytes)).toEqual(want.map((w) => w.bytes));
      got.forEach((g, i) => expect(g.norm / want[i]!.norm).toBeCloseTo(1, 5));
    }
  }, 480_000);
});

