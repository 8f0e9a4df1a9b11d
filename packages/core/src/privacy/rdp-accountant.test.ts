import { describe, expect, it } from 'vitest';
import { computeRdp, createRdpAccountant, DEFAULT_RDP_ORDERS, noiseForEpsilon, rdpToEpsilon } from './rdp-accountant.js';
import { logErfc } from './special-functions.js';

const MNIST = { q: 256 / 60000, sigma: 1.1, steps: Math.floor((60 * 60000) / 256), delta: 1e-5 };

describe('logErfc', () => {
  it('matches erfc at reference points, including where erfc underflows', () => {
    expect(Math.exp(logErfc(0.5))).toBeCloseTo(0.4795001221869535, 15);
    expect(Math.exp(logErfc(3)) / 2.209049699858544e-5).toBeCloseTo(1, 12);
    // Asymptotic series erfc(x) ≈ e^{−x²}/(x√π)·(1 − 1/(2x²) + 3/(4x⁴)) is exact to ~1e-8 at x = 30.
    expect(logErfc(30)).toBeCloseTo(-900 - Math.log(30 * Math.sqrt(Math.PI)) + Math.log(1 - 1 / 1800 + 3 / (4 * 810000)), 7);
    expect(Math.exp(logErfc(-1))).toBeCloseTo(1.8427007929497148, 15);
  });
});

describe('computeRdp', () => {
  it('reproduces TF Privacy rdp_accountant_test values', () => {
    // Values from tensorflow_privacy rdp_accountant_test.py
    expect(computeRdp(0.1, 2, 10, [5])[0]).toBeCloseTo(0.07737, 5);
    const v = computeRdp(0.01, 2.5, 50, [1.5, 2.5, 5, 50, 100, Infinity]);
    const want = [0.00065, 0.001085, 0.00218075, 0.023846, 167.416307];
    want.forEach((w, i) => expect(Math.abs(v[i]! - w)).toBeLessThan(1e-5));
    expect(v[5]).toBe(Infinity);
  });

  it('equals the Gaussian closed form α/(2σ²)·T without sampling (q = 1)', () => {
    expect(computeRdp(1, 2, 3, [1.5, 2, 32])).toEqual([(1.5 / 8) * 3, (2 / 8) * 3, (32 / 8) * 3]);
  });

  it('joins the integer and fractional formulas continuously', () => {
    const [a, b] = computeRdp(0.01, 2.5, 1, [3, 3.000001]);
    expect(Math.abs(a! - b!) / a!).toBeLessThan(1e-5);
  });

  it('grows with the sampling rate and shrinks with the noise', () => {
    const at = (q: number, s: number) => computeRdp(q, s, 100, [8])[0]!;
    expect(at(0.01, 1)).toBeLessThan(at(0.02, 1));
    expect(at(0.01, 2)).toBeLessThan(at(0.01, 1));
  });

  it('rejects a sampling rate above 1, naming it', () => {
    expect(() => computeRdp(1.5, 1, 1)).toThrow(/sampleRate must be in \[0, 1\]/);
  });
});

describe('rdpToEpsilon', () => {
  it('gives TF Privacy MNIST tutorial ε = 3.01 with the classic conversion', () => {
    const rdp = computeRdp(MNIST.q, MNIST.sigma, MNIST.steps);
    const classic = rdpToEpsilon(DEFAULT_RDP_ORDERS, rdp, MNIST.delta, 'classic');
    expect(classic.epsilon).toBeCloseTo(3.01, 2);
    // The improved conversion (Balle et al. 2020) is strictly tighter for the same RDP curve.
    const improved = rdpToEpsilon(DEFAULT_RDP_ORDERS, rdp, MNIST.delta);
    expect(improved.epsilon).toBeGreaterThan(2.5);
    expect(improved.epsilon).toBeLessThan(classic.epsilon - 0.3);
  });

  it('picks the largest order for constant RDP (pure DP)', () => {
    const orders = Array.from({ length: 31 }, (_, i) => i + 2);
    const spent = rdpToEpsilon(orders, orders.map(() => 1.1), 1e-5, 'classic');
    expect(spent.order).toBe(32);
    expect(spent.epsilon).toBeCloseTo(1.1 + Math.log(1e5) / 31, 12);
  });
});

describe('createRdpAccountant', () => {
  it('adds up steps one at a time to the same ε as computing them at once', () => {
    // Prepare
    const acc = createRdpAccountant({ noiseMultiplier: 1.1, sampleRate: 0.01, delta: 1e-5 });
    // Execute
    for (let i = 0; i < 10; i++) acc.step();
    // Assert
    const direct = rdpToEpsilon(DEFAULT_RDP_ORDERS, computeRdp(0.01, 1.1, 10), 1e-5).epsilon;
    expect(acc.epsilon()).toBeCloseTo(direct, 10);
  });

  it('is monotone in steps and previews the next step without taking it', () => {
    const acc = createRdpAccountant({ noiseMultiplier: 1, sampleRate: 0.1, delta: 1e-5 });
    acc.step(5);
    const now = acc.epsilon();
    const next = acc.epsilonAfter(1);
    expect(next).toBeGreaterThan(now);
    expect(acc.epsilon()).toBe(now);
    acc.step();
    expect(acc.epsilon()).toBeCloseTo(next, 12);
  });
});

describe('noiseForEpsilon', () => {
  it('finds the σ whose ε is just under the target', () => {
    const sigma = noiseForEpsilon({ sampleRate: MNIST.q, steps: MNIST.steps, delta: MNIST.delta, epsilon: 3, conversion: 'classic' });
    const eps = (s: number) => rdpToEpsilon(DEFAULT_RDP_ORDERS, computeRdp(MNIST.q, s, MNIST.steps), MNIST.delta, 'classic').epsilon;
    expect(eps(sigma)).toBeLessThanOrEqual(3);
    expect(eps(sigma * 0.999)).toBeGreaterThan(3);
    expect(sigma).toBeCloseTo(1.1, 1);
  });
});
