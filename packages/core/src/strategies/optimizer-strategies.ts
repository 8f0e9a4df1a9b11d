import { z } from 'zod';
import { aggregationOptionsShape } from './aggregation-options.js';
import { createComposedStrategy } from './composed-strategy.js';
import { parseStrategyOptions } from './parse-options.js';
import type { StrategyRegistration } from './registry.js';
import { createAdagradServerOptimizer, createAdamServerOptimizer, createYogiServerOptimizer } from './server-optimizers/adaptive-optimizers.js';
import { createMomentumServerOptimizer, createSgdServerOptimizer } from './server-optimizers/server-optimizer.js';

const eta = (d: number) => z.number().positive('must be > 0').max(100, 'must be ≤ 100').default(d);
const tau = (d: number) => z.number().positive('must be > 0').default(d);
const m01 = 'must be in [0, 1)';
const beta = (d: number) => z.number().min(0, m01).lt(1, m01).default(d);

/** Server optimizers of Reddi et al. 2021, with Flower's defaults (documented in docs/STRATEGIES.md). */
const fedavgmSchema = z.strictObject({
  ...aggregationOptionsShape,
  /** Server learning rate η. @default 1 */
  eta: eta(1),
  /** Server momentum β. @default 0.9 */
  momentum: beta(0.9),
});
const fedadagradSchema = z.strictObject({
  ...aggregationOptionsShape,
  /** @default 0.1 */
  eta: eta(0.1),
  /** First-moment decay; Flower's FedAdagrad uses none. @default 0 */
  beta1: beta(0),
  /** @default 1e-9 */
  tau: tau(1e-9),
});
const fedadamSchema = z.strictObject({
  ...aggregationOptionsShape,
  /** @default 0.1 */
  eta: eta(0.1),
  /** @default 0.9 */
  beta1: beta(0.9),
  /** @default 0.99 */
  beta2: beta(0.99),
  /** @default 1e-9 */
  tau: tau(1e-9),
});
const fedyogiSchema = z.strictObject({
  ...aggregationOptionsShape,
  /** @default 0.01 */
  eta: eta(0.01),
  /** @default 0.9 */
  beta1: beta(0.9),
  /** @default 0.99 */
  beta2: beta(0.99),
  /** @default 1e-3 */
  tau: tau(1e-3),
});
const fedproxSchema = z.strictObject({
  ...aggregationOptionsShape,
  /** Proximal term weight μ sent to clients as `proxMu`. @default 0.01 */
  mu: z.number().min(0, 'must be ≥ 0').max(100, 'must be ≤ 100').default(0.01),
});

export const OPTIMIZER_STRATEGIES: readonly StrategyRegistration[] = [
  {
    id: 'fedavgm',
    description: 'FedAvg with server momentum: m ← βm + Δ; x ← x + ηm.',
    create(options) {
      const o = parseStrategyOptions(fedavgmSchema, options);
      return createComposedStrategy({ id: 'fedavgm', options: o, optimizer: createMomentumServerOptimizer(o.eta, o.momentum) });
    },
  },
  {
    id: 'fedadagrad',
    description: 'Adaptive server optimizer (Reddi et al. 2021): v ← v + Δ²; x ← x + ηm/(√v + τ).',
    create(options) {
      const o = parseStrategyOptions(fedadagradSchema, options);
      return createComposedStrategy({ id: 'fedadagrad', options: o, optimizer: createAdagradServerOptimizer({ ...o, beta2: 0 }) });
    },
  },
  {
    id: 'fedadam',
    description: 'Adam on the server (Reddi et al. 2021), no bias correction.',
    create(options) {
      const o = parseStrategyOptions(fedadamSchema, options);
      return createComposedStrategy({ id: 'fedadam', options: o, optimizer: createAdamServerOptimizer(o) });
    },
  },
  {
    id: 'fedyogi',
    description: 'Yogi on the server (Reddi et al. 2021): additive second-moment update.',
    create(options) {
      const o = parseStrategyOptions(fedyogiSchema, options);
      return createComposedStrategy({ id: 'fedyogi', options: o, optimizer: createYogiServerOptimizer(o) });
    },
  },
  {
    id: 'fedprox',
    description: 'FedAvg aggregation; clients add (μ/2)·‖w − w_global‖² to their loss (Li et al. 2020).',
    create(options) {
      const o = parseStrategyOptions(fedproxSchema, options);
      return createComposedStrategy({ id: 'fedprox', options: o, optimizer: createSgdServerOptimizer(1), fitOverrides: { proxMu: o.mu } });
    },
  },
];
