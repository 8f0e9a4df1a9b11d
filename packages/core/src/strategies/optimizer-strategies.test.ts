import { describe, expect, it } from 'vitest';
import type { ChorusError } from '../errors/chorus-error.js';
import { OPTIMIZER_STRATEGIES } from './optimizer-strategies.js';
import type { Strategy } from './strategy.js';
import { float32Update, roundContext, vectorLayout } from './update-fixtures.test-helper.js';

function create(id: string, options: Record<string, unknown> = {}): Strategy {
  const reg = OPTIMIZER_STRATEGIES.find((r) => r.id === id);
  if (!reg) throw new Error(`no ${id}`);
  return reg.create(options, vectorLayout(1));
}

/** Runs one round where a single client sends `delta`, returns the new global model. */
function round(s: Strategy, global: Float32Array, delta: number[], r: number): Float32Array {
  const agg = s.beginRound({ ...roundContext([...global], r), global });
  agg.add(float32Update('c', delta));
  return s.applyAggregate(global, agg.finish([])!, r);
}

function run(s: Strategy, deltas: number[][]): number[] {
  let x: Float32Array = new Float32Array(deltas[0]!.length);
  deltas.forEach((d, i) => (x = round(s, x, d, i + 1)));
  return [...x];
}

describe('server optimizers', () => {
  it('fedavgm accumulates momentum: m ← 0.9m + Δ; x ← x + m', () => {
    expect(run(create('fedavgm'), [[1, -2], [1, 0]]).map((v) => +v.toFixed(5))).toEqual([2.9, -3.8]);
  });

  it('fedadam without bias correction follows Reddi et al. with η=0.1, β1=0.9, β2=0.99', () => {
    // Step 1: m = 0.2, v = 0.04 → +0.1. Step 2 (Δ = 0): m = 0.18, v = 0.0396.
    const want = 0.1 + (0.1 * 0.18) / Math.sqrt(0.0396);
    expect(run(create('fedadam', { biasCorrection: false }), [[2], [0]])[0]).toBeCloseTo(want, 6);
  });

  it('fedyogi without bias correction grows v additively: v ← v − (1−β2)Δ² sign(v − Δ²)', () => {
    // Step 1: m = 0.2, v = 0.04. Step 2 (Δ = 1): m = 0.28, v = 0.04 + 0.01 = 0.05 (Adam would give 0.0496).
    const want = (0.01 * 0.2) / (0.2 + 1e-3) + (0.01 * 0.28) / (Math.sqrt(0.05) + 1e-3);
    expect(run(create('fedyogi', { biasCorrection: false }), [[2], [1]])[0]).toBeCloseTo(want, 7);
  });
});

describe("Flower parity: FedAdam / FedYogi with Flower's defaults (bias-corrected step)", () => {
  // Expected arrays from a float64 NumPy re-run of Flower's aggregate_fit server step
  // (eta_norm = η·√(1 − β2^(round+1)) / (1 − β1^(round+1))), not from this implementation.
  const deltas = [[1, -2], [0.5, 0.25], [-1, 3]];

  it('fedadam matches Flower after three rounds', () => {
    const x = run(create('fedadam'), deltas);
    expect(x[0]).toBeCloseTo(0.1642539784684907, 6);
    expect(x[1]).toBeCloseTo(-0.0976812062900233, 6);
  });

  it('fedyogi matches Flower after three rounds', () => {
    const x = run(create('fedyogi'), deltas);
    expect(x[0]).toBeCloseTo(0.016237604251912417, 7);
    expect(x[1]).toBeCloseTo(-0.0096977637385984, 7);
  });

  it('a restored checkpoint keeps the step count, so the bias correction continues', () => {
    const a = create('fedadam');
    const b = create('fedadam');
    let x: Float32Array = Float32Array.from([0, 0]);
    x = round(a, x, deltas[0]!, 1);
    x = round(a, x, deltas[1]!, 2);
    b.importState(a.exportState()!);
    expect([...round(b, x, deltas[2]!, 3)]).toEqual([...round(a, x, deltas[2]!, 3)]);
  });
});

describe('server optimizers (state)', () => {

  it('fedadagrad sums squared deltas: v ← v + Δ²', () => {
    const want = 0.1 + 0.1 / Math.sqrt(5);
    expect(run(create('fedadagrad'), [[2], [1]])[0]).toBeCloseTo(want, 6);
  });

  it('does not modify the global model in place', () => {
    const global = Float32Array.from([1]);
    round(create('fedadam'), global, [2], 1);
    expect([...global]).toEqual([1]);
  });

  it('continues identically after exportState / importState', () => {
    // Prepare: two rounds on A, checkpoint, restore into a fresh B
    const a = create('fedyogi', { eta: 0.5 });
    let x: Float32Array = Float32Array.from([0, 0]);
    x = round(a, x, [1, -1], 1);
    x = round(a, x, [0.5, 2], 2);
    const state = a.exportState()!;
    const b = create('fedyogi', { eta: 0.5 });
    b.importState(state);
    // Execute
    const fromA = round(a, x, [-1, 0.25], 3);
    const fromB = round(b, x, [-1, 0.25], 3);
    // Assert
    expect([...fromB]).toEqual([...fromA]);
    expect(state[0]).toBe(0x43); // "CHST"
  });

  it('is stateless (null) before the first step of a plain strategy', () => {
    expect(create('fedprox').exportState()).toBeNull();
  });
});

describe('fedprox', () => {
  it('sends proxMu = mu to clients and applies the plain mean', () => {
    const s = create('fedprox', { mu: 0.1 });
    expect(s.configureFit(1)).toEqual({ proxMu: 0.1 });
    expect(create('fedprox').configureFit(1)).toEqual({ proxMu: 0.01 });
    expect(run(s, [[2], [1]])).toEqual([3]);
  });
});

describe('composition with aggregators', () => {
  it('fedadam over the median ignores an outlier', () => {
    const s = create('fedadam', { aggregator: 'median', eta: 1, biasCorrection: false });
    const global = Float32Array.from([0]);
    const agg = s.beginRound({ ...roundContext([0]), global });
    [[1], [1], [1000]].forEach((d, i) => agg.add(float32Update(`c${i}`, d)));
    expect(agg.streaming).toBe(false);
    const next = s.applyAggregate(global, agg.finish([])!, 1);
    expect(next[0]).toBeCloseTo(1, 6);
  });

  it('norm bounding wraps any aggregator', () => {
    const s = create('fedavgm', { momentum: 0, clipNorm: 1 });
    const agg = s.beginRound(roundContext([0, 0]));
    expect(agg.add(float32Update('a', [3, 4]))).toEqual({ status: 'accepted', note: 'clipped from 5.000 to 1' });
  });
});

describe('option validation', () => {
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return `${(e as ChorusError).code} ${(e as ChorusError).message}`;
    }
    return 'no error';
  };

  it('names the bad option in INVALID_CONFIG', () => {
    expect(code(() => create('fedadam', { beta1: 1 }))).toBe('INVALID_CONFIG strategy.options.beta1: must be in [0, 1)');
    expect(code(() => create('fedavgm', { trimBeta: 0.5 }))).toBe('INVALID_CONFIG strategy.options.trimBeta: must be in [0, 0.5)');
    expect(code(() => create('fedyogi', { etaa: 1 }))).toBe('INVALID_CONFIG strategy.options.etaa: unknown option');
    expect(code(() => create('fedprox', { mu: -1 }))).toBe('INVALID_CONFIG strategy.options.mu: must be ≥ 0');
  });

  it('rejects unknown aggregators and DP over a non-mean aggregator', () => {
    expect(code(() => create('fedadam', { aggregator: 'mode' }))).toMatch(/^INVALID_CONFIG strategy.options.aggregator: unknown aggregator "mode" \(known: mean, median, trimmed-mean, krum, multi-krum, bulyan\)/);
    expect(code(() => create('fedavgm', { aggregator: 'krum', dp: { clipNorm: 1, noiseMultiplier: 1 } }))).toMatch(/^INVALID_CONFIG strategy.options.dp: differential privacy needs aggregator "mean"/);
    expect(code(() => create('fedavgm', { dp: { clipNorm: 1 } }))).toMatch(/^INVALID_CONFIG strategy.options.dp.noiseMultiplier: /);
    expect(code(() => create('fedavgm', { dp: { clipNorm: 1, noiseMultiplier: 1, adaptiveClipping: {} } }))).toBe(
      'INVALID_CONFIG strategy.options.dp.expectedClients: is required with adaptiveClipping and noise (the count noise is scaled by it)',
    );
  });
});


describe('registry', () => {
  it('creates every optimizer strategy by id from the public entry point', async () => {
    const core = await import('../index.js');
    const ids = core.listStrategies().map((r) => r.id);
    expect(ids).toEqual(expect.arrayContaining(['fedavg', 'fedavgm', 'fedadagrad', 'fedadam', 'fedyogi', 'fedprox']));
    const s = core.createStrategy({ id: 'fedyogi', options: { aggregator: 'trimmed-mean', trimBeta: 0.2 } }, vectorLayout(3));
    expect(s.id).toBe('fedyogi');
    expect(s.beginRound(roundContext([0, 0, 0])).streaming).toBe(false);
  });
});

describe('shape checks', () => {
  it('refuses moments restored for a different model size', () => {
    const a = create('fedadam');
    round(a, Float32Array.from([0, 0]), [1, 1], 1);
    const b = create('fedadam');
    b.importState(a.exportState()!);
    expect(() => round(b, Float32Array.from([0, 0, 0]), [1, 1, 1], 2)).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
  });
});
