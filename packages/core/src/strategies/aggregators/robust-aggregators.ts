import { ChorusError } from '../../errors/chorus-error.js';
import type { RoundAggregator, RoundContext } from '../strategy.js';
import { createBufferingAggregator } from './buffering-aggregator.js';
import { aggregateMean, aggregateMedian, aggregateWeightedMean, krumScores, trimCount } from './robust-math.js';

export function createMedianAggregator(ctx: RoundContext): RoundAggregator {
  return createBufferingAggregator(ctx, (vectors) => ({ delta: aggregateMedian(vectors) }));
}

/**
 * Trimmed mean that also counts, per client, how often its value was among the trimmed ones: a
 * client trimmed in most coordinates is probably an outlier, and the operator sees it in the notes.
 */
export function createTrimmedMeanAggregator(ctx: RoundContext, beta: number): RoundAggregator {
  return createBufferingAggregator(ctx, (vectors, clientIds) => {
    const k = vectors.length;
    const n = vectors[0]!.length;
    const cut = trimCount(k, beta);
    const out = new Float32Array(n);
    const trimmed = new Uint32Array(k);
    const order = new Int32Array(k);
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < k; i++) {
        const v = vectors[i]![j]!;
        let p = i - 1;
        while (p >= 0 && vectors[order[p]!]![j]! > v) {
          order[p + 1] = order[p]!;
          p--;
        }
        order[p + 1] = i;
      }
      let s = 0;
      for (let i = cut; i < k - cut; i++) s += vectors[order[i]!]![j]!;
      out[j] = s / (k - 2 * cut);
      for (let i = 0; i < cut; i++) {
        trimmed[order[i]!]!++;
        trimmed[order[k - 1 - i]!]!++;
      }
    }
    const notes = new Map<string, string>();
    if (cut > 0) {
      for (let i = 0; i < k; i++) {
        const share = trimmed[i]! / n;
        if (share >= 0.5) notes.set(clientIds[i]!, `trimmed in ${Math.round(share * 100)}% of coordinates by trimmed-mean`);
      }
    }
    return { delta: out, metrics: { trimmedPerEnd: cut }, notes };
  });
}

/**
 * Krum (m = 1) and Multi-Krum (Blanchard et al. 2017): average the m updates with the lowest scores.
 * `m` defaults to k − f (the paper's Multi-Krum choice); clients left out get a note with their score.
 * `weighted` averages the chosen ones by example count, as Flower's Multi-Krum does; by default they
 * count equally, so a client cannot buy influence by declaring more examples.
 */
export function createKrumAggregator(ctx: RoundContext, f: number, m: number | undefined, label: 'krum' | 'multi-krum', weighted = false): RoundAggregator {
  if (!Number.isInteger(f) || f < 0) throw new ChorusError('INVALID_CONFIG', `strategy.options.krumF: must be a non-negative integer, got ${f}`);
  return createBufferingAggregator(ctx, (vectors, clientIds, numExamples) => {
    const k = vectors.length;
    const scores = krumScores(vectors, f);
    const want = label === 'krum' ? 1 : Math.max(1, Math.min(k, m ?? k - f));
    const order = [...scores.keys()].sort((a, b) => scores[a]! - scores[b]! || a - b);
    const chosen = order.slice(0, want);
    const notes = new Map<string, string>();
    for (const i of order.slice(want)) notes.set(clientIds[i]!, `discarded by ${label} (score ${scores[i]!.toPrecision(4)})`);
    return {
      delta: weighted ? aggregateWeightedMean(chosen.map((i) => vectors[i]!), chosen.map((i) => numExamples[i]!)) : aggregateMean(chosen.map((i) => vectors[i]!)),
      metrics: { krumSelected: chosen.length, krumBestScore: scores[chosen[0]!]! },
      notes,
    };
  });
}
