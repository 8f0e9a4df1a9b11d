import { z } from 'zod';
import { aggregationOptionsShape } from './aggregation-options.js';
import { createComposedStrategy } from './composed-strategy.js';
import { parseStrategyOptions } from './parse-options.js';
import type { StrategyRegistration } from './strategy-registration.js';
import { createAdagradServerOptimizer, createAdamServerOptimizer, createYogiServerOptimizer } from './server-optimizers/adaptive-optimizers.js';
import { createMomentumServerOptimizer, createSgdServerOptimizer } from './server-optimizers/server-optimizer.js';

const m01 = 'must be in [0, 1)';
const eta = (d: number) =>
  z.number().positive('must be > 0').max(100, 'must be ≤ 100').default(d).meta({ title: 'Server learning rate η', description: 'Server step size applied to the optimizer\'s direction.' });
const tau = (d: number) =>
  z.number().positive('must be > 0').default(d).meta({ title: 'Adaptivity τ', description: 'Added to √v: the larger, the closer to plain SGD.' });
const beta = (d: number, title: string, description: string) => z.number().min(0, m01).lt(1, m01).default(d).meta({ title, description });
const beta1 = (d: number, description = 'First-moment (momentum) decay.') => beta(d, 'Momentum β₁', description);
const beta2 = (d: number) => beta(d, 'Second moment β₂', 'Second-moment decay.');
const biasCorrection = z.boolean().default(true).meta({
  title: 'Bias-corrected step (Flower)',
  description: "Step with η·√(1−β₂^(t+1))/(1−β₁^(t+1)) as Flower's FedAdam/FedYogi do (t = server step, from 1); off = the paper's plain η.",
});

/** Server optimizers of Reddi et al. 2021, with Flower's defaults (documented in docs/STRATEGIES.md). */
export const fedavgmOptionsSchema = z.strictObject({
  ...aggregationOptionsShape,
  eta: eta(1),
  momentum: beta(0.9, 'Server momentum β', 'm ← βm + Δ.'),
});
export const fedadagradOptionsSchema = z.strictObject({
  ...aggregationOptionsShape,
  eta: eta(0.1),
  beta1: beta1(0, "First-moment decay; Flower's FedAdagrad uses none."),
  tau: tau(1e-9),
});
export const fedadamOptionsSchema = z.strictObject({
  ...aggregationOptionsShape,
  eta: eta(0.1),
  beta1: beta1(0.9),
  beta2: beta2(0.99),
  tau: tau(1e-9),
  biasCorrection,
});
export const fedyogiOptionsSchema = z.strictObject({
  ...aggregationOptionsShape,
  eta: eta(0.01),
  beta1: beta1(0.9),
  beta2: beta2(0.99),
  tau: tau(1e-3),
  biasCorrection,
});
export const fedproxOptionsSchema = z.strictObject({
  ...aggregationOptionsShape,
  mu: z.number().min(0, 'must be ≥ 0').max(100, 'must be ≤ 100').default(0.01).meta({
    title: 'Proximal term μ (sent to clients as proxMu)',
    description: 'Weight of the proximal term (μ/2)·‖w − w_global‖² clients add to their loss.',
  }),
});

export const OPTIMIZER_STRATEGIES: readonly StrategyRegistration[] = [
  {
    id: 'fedavgm',
    optionsSchema: fedavgmOptionsSchema,
    description: 'FedAvg with server momentum: m ← βm + Δ; x ← x + ηm.',
    create(options) {
      const o = parseStrategyOptions(fedavgmOptionsSchema, options);
      return createComposedStrategy({ id: 'fedavgm', options: o, optimizer: createMomentumServerOptimizer(o.eta, o.momentum) });
    },
  },
  {
    id: 'fedadagrad',
    optionsSchema: fedadagradOptionsSchema,
    description: 'Adaptive server optimizer (Reddi et al. 2021): v ← v + Δ²; x ← x + ηm/(√v + τ).',
    create(options) {
      const o = parseStrategyOptions(fedadagradOptionsSchema, options);
      return createComposedStrategy({ id: 'fedadagrad', options: o, optimizer: createAdagradServerOptimizer({ ...o, beta2: 0 }) });
    },
  },
  {
    id: 'fedadam',
    optionsSchema: fedadamOptionsSchema,
    description: "Adam on the server (Reddi et al. 2021), with Flower's bias-corrected step unless biasCorrection is off.",
    create(options) {
      const o = parseStrategyOptions(fedadamOptionsSchema, options);
      return createComposedStrategy({ id: 'fedadam', options: o, optimizer: createAdamServerOptimizer(o) });
    },
  },
  {
    id: 'fedyogi',
    optionsSchema: fedyogiOptionsSchema,
    description: 'Yogi on the server (Reddi et al. 2021): additive second-moment update.',
    create(options) {
      const o = parseStrategyOptions(fedyogiOptionsSchema, options);
      return createComposedStrategy({ id: 'fedyogi', options: o, optimizer: createYogiServerOptimizer(o) });
    },
  },
  {
    id: 'fedprox',
    optionsSchema: fedproxOptionsSchema,
    description: 'FedAvg aggregation; clients add (μ/2)·‖w − w_global‖² to their loss (Li et al. 2020).',
    create(options) {
      const o = parseStrategyOptions(fedproxOptionsSchema, options);
      return createComposedStrategy({ id: 'fedprox', options: o, optimizer: createSgdServerOptimizer(1), fitOverrides: { proxMu: o.mu } });
    },
  },
];
