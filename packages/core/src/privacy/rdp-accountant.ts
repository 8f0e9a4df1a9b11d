import { ChorusError } from '../errors/chorus-error.js';
import { logAdd, logErfc, logSub } from './special-functions.js';

/**
 * Rényi-DP accounting for the sampled Gaussian mechanism (Mironov 2017; Mironov, Talwar & Zhang 2019),
 * following TF Privacy / Opacus `compute_rdp`: integer orders by the exact binomial sum, fractional
 * orders by the two-sided series with erfc terms.
 */

/** Opacus/TF Privacy orders (1.1 … 10.9, 12 … 63) plus 128, 256, 512 for very small epsilons. */
export const DEFAULT_RDP_ORDERS: readonly number[] = [
  ...Array.from({ length: 99 }, (_, x) => (11 + x) / 10),
  ...Array.from({ length: 52 }, (_, x) => 12 + x),
  128,
  256,
  512,
];

function logAInt(q: number, sigma: number, alpha: number): number {
  let logA = -Infinity;
  let logBinom = 0;
  for (let i = 0; i <= alpha; i++) {
    if (i > 0) logBinom += Math.log((alpha - i + 1) / i);
    const logCoef = logBinom + i * Math.log(q) + (alpha - i) * Math.log1p(-q);
    logA = logAdd(logA, logCoef + (i * i - i) / (2 * sigma * sigma));
  }
  return logA;
}

function logAFrac(q: number, sigma: number, alpha: number): number {
  let logA0 = -Infinity;
  let logA1 = -Infinity;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  const s2 = 2 * sigma * sigma;
  // log|C(α, i)| and its sign, carried from one i to the next.
  let logCoef = 0;
  let sign = 1;
  for (let i = 0; i < 1_000_000; i++) {
    if (i > 0) {
      const f = (alpha - i + 1) / i;
      if (f < 0) sign = -sign;
      logCoef += Math.log(Math.abs(f));
    }
    const j = alpha - i;
    const logT0 = logCoef + i * Math.log(q) + j * Math.log1p(-q);
    const logT1 = logCoef + j * Math.log(q) + i * Math.log1p(-q);
    const logE0 = Math.log(0.5) + logErfc((i - z0) / (Math.SQRT2 * sigma));
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / (Math.SQRT2 * sigma));
    const logS0 = logT0 + (i * i - i) / s2 + logE0;
    const logS1 = logT1 + (j * j - j) / s2 + logE1;
    if (sign > 0) {
      logA0 = logAdd(logA0, logS0);
      logA1 = logAdd(logA1, logS1);
    } else if (sign < 0) {
      logA0 = logSub(logA0, logS0);
      logA1 = logSub(logA1, logS1);
    }
    if (Math.max(logS0, logS1) < -30) break;
  }
  return logAdd(logA0, logA1);
}

/** RDP of one step of the sampled Gaussian mechanism at one order. */
function rdpOneStep(q: number, sigma: number, alpha: number): number {
  if (q === 0) return 0;
  if (sigma === 0) return Infinity;
  if (q === 1) return alpha / (2 * sigma * sigma);
  if (!Number.isFinite(alpha)) return Infinity;
  const logA = Number.isInteger(alpha) ? logAInt(q, sigma, alpha) : logAFrac(q, sigma, alpha);
  return logA / (alpha - 1);
}

function checkArgs(q: number, sigma: number, steps: number, orders: readonly number[]): void {
  const bad = (what: string) => new ChorusError('BAD_REQUEST', `computeRdp: ${what}`);
  if (!(q >= 0 && q <= 1)) throw bad(`sampleRate must be in [0, 1], got ${q}`);
  if (!(sigma >= 0) || !Number.isFinite(sigma)) throw bad(`noiseMultiplier must be ≥ 0, got ${sigma}`);
  if (!(steps >= 0) || !Number.isInteger(steps)) throw bad(`steps must be a non-negative integer, got ${steps}`);
  if (orders.some((a) => !(a > 1))) throw bad('every order must be > 1');
}

/** RDP (one value per order) of `steps` compositions of the sampled Gaussian with rate q and noise σ. */
export function computeRdp(q: number, sigma: number, steps: number, orders: readonly number[] = DEFAULT_RDP_ORDERS): number[] {
  checkArgs(q, sigma, steps, orders);
  return orders.map((a) => (steps === 0 ? 0 : rdpOneStep(q, sigma, a) * steps));
}

export type RdpConversion = 'improved' | 'classic';

export interface PrivacySpent {
  readonly epsilon: number;
  readonly delta: number;
  /** The Rényi order that gave the tightest bound. */
  readonly order: number;
}

/**
 * (ε, δ) from RDP. 'improved' (default) is Balle et al. 2020, Prop. 12, as in Opacus
 * `get_privacy_spent`: ε = rdp − (log δ + log α)/(α−1) + log((α−1)/α). 'classic' is Mironov 2017,
 * Prop. 3: ε = rdp − log δ/(α−1) (what TF Privacy's MNIST tutorial printed).
 */
export function rdpToEpsilon(orders: readonly number[], rdp: readonly number[], delta: number, conversion: RdpConversion = 'improved'): PrivacySpent {
  if (!(delta > 0 && delta < 1)) throw new ChorusError('BAD_REQUEST', `rdpToEpsilon: delta must be in (0, 1), got ${delta}`);
  if (orders.length !== rdp.length) throw new ChorusError('BAD_REQUEST', `rdpToEpsilon: ${orders.length} orders but ${rdp.length} RDP values`);
  let best: PrivacySpent = { epsilon: Infinity, delta, order: NaN };
  orders.forEach((a, i) => {
    const r = rdp[i]!;
    const eps =
      conversion === 'classic'
        ? r - Math.log(delta) / (a - 1)
        : r - (Math.log(delta) + Math.log(a)) / (a - 1) + Math.log((a - 1) / a);
    if (eps < best.epsilon) best = { epsilon: Math.max(0, eps), delta, order: a };
  });
  return best;
}

export interface RdpAccountantOptions {
  readonly noiseMultiplier: number;
  readonly sampleRate: number;
  readonly delta: number;
  /** @default DEFAULT_RDP_ORDERS */
  readonly orders?: readonly number[];
  /** @default 'improved' */
  readonly conversion?: RdpConversion;
}

export interface RdpAccountant {
  /** Records n releases, at the accountant's rate or at `sampleRate` when the rate varied this time. */
  step(n?: number, sampleRate?: number): void;
  epsilon(): number;
  spent(): PrivacySpent;
  /** ε if n more steps were taken (for budget checks before a round). */
  epsilonAfter(n: number, sampleRate?: number): number;
  /** Accumulated RDP per order, for checkpoints. */
  exportRdp(): number[];
  importRdp(rdp: readonly number[]): void;
}

export function createRdpAccountant(options: RdpAccountantOptions): RdpAccountant {
  const orders = options.orders ?? DEFAULT_RDP_ORDERS;
  const conversion = options.conversion ?? 'improved';
  checkArgs(options.sampleRate, options.noiseMultiplier, 0, orders);
  let rdp = orders.map(() => 0);
  const perStep = new Map<number, number[]>();
  const oneStep = (q: number) => {
    let r = perStep.get(q);
    if (!r) perStep.set(q, (r = computeRdp(q, options.noiseMultiplier, 1, orders)));
    return r;
  };
  const added = (n: number, q: number) => {
    const r = oneStep(q);
    return rdp.map((v, i) => v + n * r[i]!);
  };
  return {
    step(n = 1, sampleRate = options.sampleRate) {
      rdp = added(n, sampleRate);
    },
    epsilon: () => rdpToEpsilon(orders, rdp, options.delta, conversion).epsilon,
    spent: () => rdpToEpsilon(orders, rdp, options.delta, conversion),
    epsilonAfter: (n, sampleRate = options.sampleRate) => rdpToEpsilon(orders, added(n, sampleRate), options.delta, conversion).epsilon,
    exportRdp: () => [...rdp],
    importRdp(values) {
      if (values.length !== orders.length) throw new ChorusError('BAD_REQUEST', `importRdp: ${values.length} values for ${orders.length} orders`);
      rdp = [...values];
    },
  };
}

export interface NoiseForEpsilonOptions {
  readonly sampleRate: number;
  readonly steps: number;
  readonly delta: number;
  readonly epsilon: number;
  readonly orders?: readonly number[];
  readonly conversion?: RdpConversion;
  /** Stop when the bracket is this narrow (relative). @default 1e-4 */
  readonly tolerance?: number;
}

/** Smallest noise multiplier (to `tolerance`) whose ε after `steps` stays ≤ the target, by bisection. */
export function noiseForEpsilon(o: NoiseForEpsilonOptions): number {
  if (!(o.epsilon > 0)) throw new ChorusError('BAD_REQUEST', `noiseForEpsilon: epsilon must be > 0, got ${o.epsilon}`);
  const eps = (sigma: number) => rdpToEpsilon(o.orders ?? DEFAULT_RDP_ORDERS, computeRdp(o.sampleRate, sigma, o.steps, o.orders), o.delta, o.conversion).epsilon;
  let lo = 0;
  let hi = 1;
  while (eps(hi) > o.epsilon) {
    lo = hi;
    hi *= 2;
    if (hi > 1e6) throw new ChorusError('BAD_REQUEST', `noiseForEpsilon: no noise multiplier below 1e6 reaches epsilon ${o.epsilon}`);
  }
  const tol = o.tolerance ?? 1e-4;
  while (hi - lo > tol * hi) {
    const mid = (lo + hi) / 2;
    if (eps(mid) > o.epsilon) lo = mid;
    else hi = mid;
  }
  return hi;
}
