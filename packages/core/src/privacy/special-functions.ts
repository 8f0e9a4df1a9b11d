/** Numerics the RDP accountant needs, in double precision, with no dependencies. */

const SQRT_PI = Math.sqrt(Math.PI);

/** log(exp(a) + exp(b)) without overflow. */
export function logAdd(a: number, b: number): number {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  if (lo === -Infinity) return hi;
  return Math.log1p(Math.exp(lo - hi)) + hi;
}

/** log(exp(a) − exp(b)) for a ≥ b. */
export function logSub(a: number, b: number): number {
  if (b === -Infinity) return a;
  if (a === b) return -Infinity;
  if (b > a) throw new RangeError(`logSub: the result would be negative (${a} < ${b})`);
  return a + Math.log1p(-Math.exp(b - a));
}

/** erf(x) for |x| < 2 from the all-positive series erf(x) = 2/√π·e^{−x²}·Σ 2^n x^{2n+1}/(2n+1)!!, no cancellation. */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return (2 / SQRT_PI) * Math.exp(-x2) * sum;
}

/** erfcx(x) = e^{x²}·erfc(x) for x ≥ 2, by the continued fraction 1/√π · 1/(x + ½/(x + 1/(x + 3⁄2/(x + …)))). */
function erfcxContinuedFraction(x: number): number {
  let t = x;
  for (let n = 300; n >= 1; n--) t = x + n / 2 / t;
  return 1 / (SQRT_PI * t);
}

/** log(erfc(x)) for any real x, accurate where erfc(x) underflows (large x). */
export function logErfc(x: number): number {
  if (x >= 2) return -x * x + Math.log(erfcxContinuedFraction(x));
  if (x > -2) return Math.log1p(-(x >= 0 ? erfSeries(x) : -erfSeries(-x)));
  // erfc(x) = 2 − erfc(−x), and erfc(−x) is tiny here.
  return Math.log(2 - Math.exp(logErfc(-x)));
}
