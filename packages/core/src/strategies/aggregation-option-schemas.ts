import { z } from 'zod';
import { dpOptionsSchema } from '../privacy/dp-options.js';

// Kept apart from aggregation-options.ts (which reads the aggregator registry): the built-in
// aggregators' own schemas are made from these, and the registry starts with them.

/**
 * Options every Chorus strategy accepts besides its server-optimizer ones: how client deltas are
 * combined (`aggregator`), optional norm bounding and optional DP. Any aggregator works with any
 * server optimizer: the strategy id picks the optimizer, these options pick the rest.
 * `group: 'aggregation'` in their metadata tells the console these are drawn by the shared
 * robustness and privacy fieldsets rather than among the strategy's own options.
 */
export const aggregationOptionsShape = {
  aggregator: z.string().min(1, 'must name an aggregator').default('mean').meta({
    title: 'Robust aggregation',
    description: "Registry id of the aggregator that combines the round's updates (see /api/strategies).",
    group: 'aggregation',
  }),
  trimBeta: z.number().min(0, 'must be in [0, 0.5)').lt(0.5, 'must be in [0, 0.5)').default(0.1).meta({
    title: 'Fraction trimmed at each end (β)',
    description: 'trimmed-mean: fraction dropped at each end of every coordinate.',
    group: 'aggregation',
  }),
  krumF: z.number().int('must be an integer').min(0, 'must be ≥ 0').default(1).meta({
    title: 'Byzantine clients assumed (f)',
    description: 'krum / multi-krum / bulyan: Byzantine clients assumed (f).',
    group: 'aggregation',
  }),
  krumM: z.number().int('must be an integer').min(1, 'must be ≥ 1').optional().meta({
    title: 'Updates averaged (m)',
    description: 'multi-krum: updates averaged (m); unset = clients received − krumF.',
    group: 'aggregation',
  }),
  krumWeighted: z.boolean().default(false).meta({
    title: 'Weight the picked updates by examples',
    description: "multi-krum: average the picked updates weighted by example count, as Flower's MultiKrum does; off = each counts once (a client cannot buy weight by declaring more examples).",
    group: 'aggregation',
  }),
  clipNorm: z.number().positive('must be > 0').optional().meta({
    title: 'Norm bound',
    description: 'Scale every update with a larger L2 norm down to this; unset = no bound.',
    group: 'aggregation',
  }),
  dp: dpOptionsSchema.optional().meta({
    title: 'Differential privacy',
    description: 'DP-FedAvg: clip, average with a fixed denominator, add Gaussian noise, account with RDP; unset = off.',
    group: 'aggregation',
  }),
};

export type AggregationOptions = z.infer<z.ZodObject<typeof aggregationOptionsShape>>;
