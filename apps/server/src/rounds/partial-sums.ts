import { allocateFoldTarget, ChorusError, l2Norm, layoutSize, type ClientUpdate, type EncodedUpdate, type TensorSpec } from '@chorus/core';
import type { PartialSum } from './coordination.js';

interface Accumulating {
  readonly roundId: string;
  /** Allocated at the first fold (the model's size), kernel-backed (allocateFoldTarget). */
  sum: Float32Array | null;
  count: number;
  examples: number;
  readonly participants: string[];
  readonly metrics: Map<string, { sum: number; weight: number }>;
  /** Uploads waiting for the coordinator's answer (admitted or not). */
  inFlight: number;
  /** take()s waiting: for every answer, or (`until`) for that many folded updates. */
  readonly waiting: { readonly until: number | undefined; readonly wake: () => void }[];
}

/** Most distinct client metric names kept per round (the wire allows 32 per client). */
const MAX_METRICS = 64;

/**
 * A process's partial sums of the rounds other processes coordinate (Google 2019's Aggregators):
 * Σ nᵢuᵢ folded straight from each encoded upload, Σ nᵢ, and example-weighted metric sums. One
 * round per task at a time: a new round's first upload drops an older round's leftovers.
 */
export class PartialSums {
  private readonly byTask = new Map<string, Accumulating>();

  private entry(taskId: string, roundId: string): Accumulating {
    const e = this.byTask.get(taskId);
    if (e && e.roundId === roundId) return e;
    const fresh: Accumulating = { roundId, sum: null, count: 0, examples: 0, participants: [], metrics: new Map(), inFlight: 0, waiting: [] };
    this.byTask.set(taskId, fresh);
    return fresh;
  }

  /** An upload for the round is on its way to the coordinator; call the result when its answer is in. */
  expect(taskId: string, roundId: string): () => void {
    const e = this.entry(taskId, roundId);
    e.inFlight += 1;
    return () => {
      e.inFlight -= 1;
      settle(e);
    };
  }

  /** Folds an update the coordinator admitted into the round's partial sum. */
  fold(taskId: string, roundId: string, participantId: string, layout: readonly TensorSpec[], update: EncodedUpdate, numExamples: number, metrics: Readonly<Record<string, number>>): void {
    const e = this.entry(taskId, roundId);
    // In WebAssembly memory, as the coordinator's weighted mean keeps its sum: an int8 upload then
    // folds in the SIMD kernel (~0.05 ms for the 2NN) instead of a JS loop (~1 ms), which had the
    // processes that are not coordinating spend ~0.35 s of each 1,000-update round folding.
    e.sum ??= allocateFoldTarget(layoutSize(layout));
    update.foldInto(e.sum, numExamples);
    e.count += 1;
    e.participants.push(participantId);
    e.examples += numExamples;
    for (const [k, v] of Object.entries(metrics)) {
      if (!Number.isFinite(v)) continue;
      const m = e.metrics.get(k) ?? (e.metrics.size < MAX_METRICS ? { sum: 0, weight: 0 } : null);
      if (!m) continue;
      m.sum += v * numExamples;
      m.weight += numExamples;
      e.metrics.set(k, m);
    }
    settle(e);
  }

  /**
   * The round's partial sum, handed over once (the coordinator closing the round). With `admitted`
   * (how many of this process's uploads the coordinator accepted) it is handed over as soon as that
   * many are folded: the uploads still waiting for an answer at that point are ones the closed round
   * refuses, and waiting for those answers too held the close up by a round trip through a busy
   * coordinator. Without it, after every upload waiting for its answer is settled. `admitted` 0:
   * what is folded now (a new coordinator adopting the sum of a round its dead predecessor left
   * open, whose answers will never come). A round with nothing here is an empty partial sum.
   */
  async take(taskId: string, roundId: string, admitted?: number): Promise<PartialSum> {
    const e = this.byTask.get(taskId);
    if (!e || e.roundId !== roundId) return { count: 0, examples: 0, participants: [], sum: new Float32Array(0), metrics: {} };
    if (!done(e, admitted)) await new Promise<void>((wake) => e.waiting.push({ until: admitted, wake }));
    if (this.byTask.get(taskId) === e) this.byTask.delete(taskId);
    return { count: e.count, examples: e.examples, participants: e.participants, sum: e.sum ?? new Float32Array(0), metrics: Object.fromEntries(e.metrics) };
  }
}

/** Whether a take() may answer: every upload's answer is in, or the admitted ones are all folded. */
function done(e: Accumulating, until: number | undefined): boolean {
  return e.inFlight === 0 || (until !== undefined && e.count >= until);
}

/** Wakes the take()s that may answer now. */
function settle(e: Accumulating): void {
  if (e.waiting.length === 0) return;
  for (let i = e.waiting.length - 1; i >= 0; i--) {
    const w = e.waiting[i]!;
    if (!done(e, w.until)) continue;
    e.waiting.splice(i, 1);
    w.wake();
  }
}

/**
 * A process's partial sum as one update for the coordinator's aggregator: folded with weight Σ nᵢ
 * it adds exactly Σ nᵢuᵢ (weight / examples = 1), so the weighted mean over every process is the
 * mean over every update. Its metrics are the example-weighted means of what its clients reported.
 */
export function partialSumUpdate(participantId: string, layout: readonly TensorSpec[], p: PartialSum): ClientUpdate {
  const length = layoutSize(layout);
  if (p.sum.length !== length) throw new ChorusError('SHAPE_MISMATCH', `${participantId}: ${p.sum.length} values; the model has ${length}`);
  if (!(p.examples > 0)) throw new ChorusError('BAD_REQUEST', `${participantId}: a partial sum of ${p.count} updates with ${p.examples} examples`);
  const update: EncodedUpdate = {
    codec: 'float32',
    layout,
    length,
    byteLength: p.sum.byteLength,
    decode(out = new Float32Array(length)) {
      for (let i = 0; i < length; i++) out[i] = p.sum[i]! / p.examples;
      return out;
    },
    foldInto(target, weight) {
      const s = weight / p.examples;
      for (let i = 0; i < length; i++) target[i]! += p.sum[i]! * s;
    },
    l2Norm: () => l2Norm(p.sum) / p.examples,
  };
  const metrics = Object.fromEntries(Object.entries(p.metrics).filter(([, m]) => m.weight > 0).map(([k, m]) => [k, m.sum / m.weight]));
  return { participantId, numExamples: p.examples, update, metrics };
}
