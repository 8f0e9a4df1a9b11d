/**
 * A short fingerprint of a model that survives small errors: its L2 norm and a few random ±1
 * projections (scaled by 1/√n). A client whose copy differs from the server's by an error e with
 * ‖e‖ ≤ B sees its norm within B of the server's (triangle inequality) and each projection within a
 * few B/√n (the stochastic-rounding errors are independent and zero-mean; see sketchAgrees), while
 * a copy built on a wrong base differs by far more. It is what lets a download that is only
 * "within the codec's stated error" of a version be checked against the invite. What it catches:
 * a copy off by ≳ 20× the stated error in a direction unrelated to the signs (a wrong seed or
 * base, a corrupted cache) fails with probability ≥ 1 − 10⁻⁵; drift of a few times the error can pass.
 */
export interface ModelSketch {
  readonly norm: number;
  readonly projections: number[];
}

/** Projections per sketch: one 32-bit hash per value gives this many signs. */
export const SKETCH_PROJECTIONS = 8;

/** How many of the errors' standard deviations (≤ B / (2√n)) a projection may be off. */
const PROJECTION_SIGMAS = 12;

export function modelSketch(values: Float32Array): ModelSketch {
  const n = values.length;
  // Eight running sums in locals, each term x·(±1) without a branch: the signs are random, so a
  // branch per projection mispredicted half the time (~10 ms for the 2NN's 199,210 values, ~1.5 ms
  // now, on the server at every new version and on the device after every download). x·(±1) is
  // exact, so the sums are bit for bit those of the branching loop.
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const x = values[i]!;
    squares += x * x;
    // A fixed integer hash of the index: the same signs on every device.
    let h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    h ^= h >>> 16;
    s0 += x * ((h & 1) * 2 - 1);
    s1 += x * (((h >>> 1) & 1) * 2 - 1);
    s2 += x * (((h >>> 2) & 1) * 2 - 1);
    s3 += x * (((h >>> 3) & 1) * 2 - 1);
    s4 += x * (((h >>> 4) & 1) * 2 - 1);
    s5 += x * (((h >>> 5) & 1) * 2 - 1);
    s6 += x * (((h >>> 6) & 1) * 2 - 1);
    s7 += x * (((h >>> 7) & 1) * 2 - 1);
  }
  const scale = n > 0 ? 1 / Math.sqrt(n) : 0;
  // Bit k of the hash is projection k's sign: SKETCH_PROJECTIONS is 8, one local each.
  return { norm: Math.sqrt(squares), projections: [s0, s1, s2, s3, s4, s5, s6, s7].map((s) => s * scale) };
}

/**
 * True when `values` can be the sketched model up to an error of L2 norm at most `errorBound`
 * (plus float32 rounding of a sum: a relative 1e-6 of the norm). The norm test is exact; each
 * projection is allowed PROJECTION_SIGMAS of its standard deviation, which independent zero-mean
 * errors exceed with probability below 1e-30 (Hoeffding).
 */
export function sketchAgrees(expected: ModelSketch, values: Float32Array, errorBound: number): boolean {
  if (expected.projections.length !== SKETCH_PROJECTIONS || !Number.isFinite(errorBound) || errorBound < 0) return false;
  const got = modelSketch(values);
  const slack = 1e-6 * Math.max(got.norm, expected.norm) + 1e-12;
  if (!(Math.abs(got.norm - expected.norm) <= errorBound + slack)) return false;
  const perProjection = (PROJECTION_SIGMAS * errorBound) / (2 * Math.sqrt(Math.max(1, values.length))) + slack;
  return got.projections.every((p, k) => Math.abs(p - expected.projections[k]!) <= perProjection);
}
