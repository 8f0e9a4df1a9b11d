import { ChorusError } from '../../errors/chorus-error.js';
import type { RoundAggregator, RoundContext } from '../strategy.js';
import { createBufferingAggregator } from './buffering-aggregator.js';
import { aggregateMedian, krumScores } from './robust-math.js';

export interface BulyanResult {
  readonly delta: Float32Array;
  /** Indices of the θ = k − 2f updates Krum picked, in the order it picked them. */
  readonly selected: readonly number[];
  /** β = θ − 2f: values averaged per coordinate. */
  readonly beta: number;
}

/** Bulyan's guarantee needs k ≥ 4f + 3 updates (El Mhamdi et al. 2018); Flower refuses fewer too. */
export function bulyanMinimum(f: number): number {
  return 4 * f + 3;
}

/**
 * Bulyan (El Mhamdi, Guerraoui & Rouault 2018), as Flower's `aggregate_bulyan` with Krum as the
 * first rule: pick θ = k − 2f updates by running Krum again on what is left each time, then per
 * coordinate average the β = θ − 2f picked values closest to the picked values' median. Unweighted,
 * like every robust rule here. Ties (equal scores, equal distances) go to the earlier update.
 */
export function aggregateBulyan(vectors: readonly Float32Array[], f: number): BulyanResult {
  const k = vectors.length;
  if (!Number.isInteger(f) || f < 0) throw new ChorusError('INVALID_CONFIG', `bulyan: krumF must be a non-negative integer, got ${f}`);
  if (k < bulyanMinimum(f)) {
    throw new ChorusError('INVALID_CONFIG', `bulyan with krumF = ${f} needs at least ${bulyanMinimum(f)} updates (4f + 3); ${k} arrived`);
  }
  const theta = k - 2 * f;
  const beta = theta - 2 * f;
  const remaining = [...vectors.keys()];
  const selected: number[] = [];
  while (selected.length < theta) {
    const scores = krumScores(remaining.map((i) => vectors[i]!), f);
    let best = 0;
    for (let i = 1; i < scores.length; i++) if (scores[i]! < scores[best]!) best = i;
    selected.push(remaining.splice(best, 1)[0]!);
  }
  const picked = selected.map((i) => vectors[i]!);
  const median = aggregateMedian(picked);
  const n = median.length;
  const out = new Float32Array(n);
  const order = new Int32Array(theta);
  const dist = new Float64Array(theta);
  for (let j = 0; j < n; j++) {
    const mj = median[j]!;
    // Insertion sort of the θ picked values by |value − median| (θ is a client count, small).
    for (let i = 0; i < theta; i++) {
      const d = Math.abs(picked[i]![j]! - mj);
      let p = i - 1;
      while (p >= 0 && dist[p]! > d) {
        dist[p + 1] = dist[p]!;
        order[p + 1] = order[p]!;
        p--;
      }
      dist[p + 1] = d;
      order[p + 1] = i;
    }
    let s = 0;
    for (let i = 0; i < beta; i++) s += picked[order[i]!]![j]!;
    out[j] = s / beta;
  }
  return { delta: out, selected, beta };
}

/** Bulyan as a round aggregator: clients Krum never picked get a note; too few updates abandon the round with the reason. */
export function createBulyanAggregator(ctx: RoundContext, f: number): RoundAggregator {
  if (!Number.isInteger(f) || f < 0) throw new ChorusError('INVALID_CONFIG', `strategy.options.krumF: must be a non-negative integer, got ${f}`);
  return createBufferingAggregator(ctx, (vectors, clientIds) => {
    const r = aggregateBulyan(vectors, f);
    const picked = new Set(r.selected);
    const notes = new Map<string, string>();
    clientIds.forEach((id, i) => {
      if (!picked.has(i)) notes.set(id, 'discarded by bulyan (not among the Krum picks)');
    });
    return { delta: r.delta, metrics: { bulyanSelected: r.selected.length, bulyanBeta: r.beta }, notes };
  });
}
