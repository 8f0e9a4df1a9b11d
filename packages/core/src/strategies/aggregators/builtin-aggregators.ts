import type { AggregatorRegistration } from './aggregator-registry.js';
import { createKrumAggregator, createMedianAggregator, createTrimmedMeanAggregator } from './robust-aggregators.js';
import { createWeightedMeanAggregator } from './weighted-mean.js';

/** Every aggregator shipped with Chorus; the aggregator registry starts with these. */
export const BUILTIN_AGGREGATORS: readonly AggregatorRegistration[] = [
  {
    id: 'mean',
    streaming: true,
    description: 'Mean of the updates weighted by example count (FedAvg); O(model) memory.',
    create: (ctx) => createWeightedMeanAggregator(ctx),
  },
  {
    id: 'median',
    streaming: false,
    description: 'Coordinate-wise median (Yin et al. 2018); buffers every update.',
    create: (ctx) => createMedianAggregator(ctx),
  },
  {
    id: 'trimmed-mean',
    streaming: false,
    description: 'Coordinate-wise mean after dropping trimBeta of the values at each end (Yin et al. 2018); buffers every update.',
    create: (ctx, p) => createTrimmedMeanAggregator(ctx, p.trimBeta),
  },
  {
    id: 'krum',
    streaming: false,
    description: 'The single update closest to its n−f−2 nearest neighbours (Blanchard et al. 2017); buffers every update.',
    create: (ctx, p) => createKrumAggregator(ctx, p.krumF, 1, 'krum'),
  },
  {
    id: 'multi-krum',
    streaming: false,
    description: 'Mean of the krumM best-scored updates (Blanchard et al. 2017); buffers every update.',
    create: (ctx, p) => createKrumAggregator(ctx, p.krumF, p.krumM, 'multi-krum'),
  },
];
