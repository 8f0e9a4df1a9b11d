import { ChorusError } from '../../errors/chorus-error.js';

/**
 * Pure robust-aggregation math over equally long float vectors (one per client). Unweighted on
 * purpose: robust statistics that trust client-reported example counts can be gamed by one liar.
 */

function checkVectors(vectors: readonly Float32Array[], op: string): number {
  if (vectors.length === 0) throw new ChorusError('BAD_REQUEST', `${op}: needs at least one vector`);
  const n = vectors[0]!.length;
  for (let i = 1; i < vectors.length; i++) {
    if (vectors[i]!.length !== n) {
      throw new ChorusError('SHAPE_MISMATCH', `${op}: vector #${i} has ${vectors[i]!.length} values; vector #0 has ${n}`);
    }
  }
  return n;
}

/** Sorts the k values of one coordinate into `column` (insertion sort: k is a client count, small). */
function sortedColumn(vectors: readonly Float32Array[], j: number, column: Float64Array): void {
  const k = vectors.length;
  for (let i = 0; i < k; i++) {
    const v = vectors[i]![j]!;
    let p = i - 1;
    while (p >= 0 && column[p]! > v) {
      column[p + 1] = column[p]!;
      p--;
    }
    column[p + 1] = v;
  }
}

/** Coordinate-wise median (Yin et al. 2018); the mean of the two middle values for an even count. */
export function aggregateMedian(vectors: readonly Float32Array[]): Float32Array {
  const n = checkVectors(vectors, 'aggregateMedian');
  const k = vectors.length;
  const out = new Float32Array(n);
  const column = new Float64Array(k);
  const mid = k >> 1;
  for (let j = 0; j < n; j++) {
    sortedColumn(vectors, j, column);
    out[j] = k % 2 === 1 ? column[mid]! : (column[mid - 1]! + column[mid]!) / 2;
  }
  return out;
}

/** How many values trimmed mean drops from each end: floor(beta × k), as in Flower's FedTrimmedAvg. */
export function trimCount(k: number, beta: number): number {
  return Math.floor(beta * k);
}

/**
 * Coordinate-wise trimmed mean (Yin et al. 2018): per coordinate, drop the `floor(beta·k)` smallest
 * and largest values and average the rest.
 */
export function aggregateTrimmedMean(vectors: readonly Float32Array[], beta: number): Float32Array {
  const n = checkVectors(vectors, 'aggregateTrimmedMean');
  if (!(beta >= 0 && beta < 0.5)) throw new ChorusError('BAD_REQUEST', `aggregateTrimmedMean: beta must be in [0, 0.5), got ${beta}`);
  const k = vectors.length;
  const cut = trimCount(k, beta);
  const out = new Float32Array(n);
  const column = new Float64Array(k);
  const kept = k - 2 * cut;
  for (let j = 0; j < n; j++) {
    sortedColumn(vectors, j, column);
    let s = 0;
    for (let i = cut; i < k - cut; i++) s += column[i]!;
    out[j] = s / kept;
  }
  return out;
}

/** Squared Euclidean distances between every pair (symmetric k×k, row-major). */
export function pairwiseSquaredDistances(vectors: readonly Float32Array[]): Float64Array {
  const n = checkVectors(vectors, 'pairwiseSquaredDistances');
  const k = vectors.length;
  const d = new Float64Array(k * k);
  for (let a = 0; a < k; a++) {
    const va = vectors[a]!;
    for (let b = a + 1; b < k; b++) {
      const vb = vectors[b]!;
      let s = 0;
      for (let j = 0; j < n; j++) {
        const t = va[j]! - vb[j]!;
        s += t * t;
      }
      d[a * k + b] = s;
      d[b * k + a] = s;
    }
  }
  return d;
}

/**
 * Krum scores (Blanchard et al. 2017): for each vector, the sum of squared distances to its
 * k − f − 2 nearest other vectors. Lower is more central. Needs k > 2f + 2 for the guarantee; with
 * fewer vectors the neighbour count is clamped to at least 1 so a score still exists.
 */
export function krumScores(vectors: readonly Float32Array[], f: number): Float64Array {
  const k = vectors.length;
  const d = pairwiseSquaredDistances(vectors);
  const neighbours = Math.max(1, Math.min(k - 1, k - f - 2));
  const scores = new Float64Array(k);
  const row: number[] = [];
  for (let a = 0; a < k; a++) {
    row.length = 0;
    for (let b = 0; b < k; b++) if (b !== a) row.push(d[a * k + b]!);
    row.sort((x, y) => x - y);
    let s = 0;
    for (let i = 0; i < neighbours && i < row.length; i++) s += row[i]!;
    scores[a] = s;
  }
  return scores;
}

/** Indices of the m lowest Krum scores, best first (ties keep input order). m = 1 is plain Krum. */
export function multiKrumSelect(vectors: readonly Float32Array[], f: number, m: number): number[] {
  const scores = krumScores(vectors, f);
  const order = [...scores.keys()].sort((a, b) => scores[a]! - scores[b]! || a - b);
  return order.slice(0, Math.max(1, Math.min(m, vectors.length)));
}

/**
 * Mean weighted by example count, Σ nᵢ·vᵢ / Σ nᵢ: Flower's `aggregate`, which its Multi-Krum uses
 * for the selected updates. Counts must be finite and ≥ 0, and not all 0.
 */
export function aggregateWeightedMean(vectors: readonly Float32Array[], weights: readonly number[]): Float32Array {
  const n = checkVectors(vectors, 'aggregateWeightedMean');
  if (weights.length !== vectors.length) throw new ChorusError('SHAPE_MISMATCH', `aggregateWeightedMean: ${weights.length} weights for ${vectors.length} vectors`);
  let total = 0;
  for (const w of weights) {
    if (!(w >= 0 && Number.isFinite(w))) throw new ChorusError('BAD_REQUEST', `aggregateWeightedMean: weights must be ≥ 0 and finite, got ${w}`);
    total += w;
  }
  if (total === 0) throw new ChorusError('BAD_REQUEST', 'aggregateWeightedMean: the weights sum to 0');
  const acc = new Float64Array(n);
  vectors.forEach((v, i) => {
    const w = weights[i]!;
    for (let j = 0; j < n; j++) acc[j]! += w * v[j]!;
  });
  const out = new Float32Array(n);
  for (let j = 0; j < n; j++) out[j] = acc[j]! / total;
  return out;
}

/** Plain unweighted mean of the chosen vectors. */
export function aggregateMean(vectors: readonly Float32Array[]): Float32Array {
  const n = checkVectors(vectors, 'aggregateMean');
  const acc = new Float64Array(n);
  for (const v of vectors) for (let j = 0; j < n; j++) acc[j]! += v[j]!;
  const out = new Float32Array(n);
  for (let j = 0; j < n; j++) out[j] = acc[j]! / vectors.length;
  return out;
}

export function l2Norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}
