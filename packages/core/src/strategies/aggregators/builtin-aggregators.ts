import { z } from 'zod';
import { aggregationOptionsShape } from '../aggregation-option-schemas.js';
import type { AggregatorRegistration } from './aggregator-registration.js';
import { createBulyanAggregator } from './bulyan.js';
import { createKrumAggregator, createMedianAggregator, createTrimmedMeanAggregator } from './robust-aggregators.js';
import { createWeightedMeanAggregator } from './weighted-mean.js';

const { trimBeta, krumF, krumM, krumWeighted } = aggregationOptionsShape;

/** Every aggregator shipped with Chorus; the aggregator registry starts with these. Each schema lists only the options it reads. */
export const BUILTIN_AGGREGATORS: readonly AggregatorRegistration[] = [
  {
    id: 'mean',
    optionsSchema: z.strictObject({}),
    streaming: true,
    description: 'Mean of the updates weighted by example count (FedAvg); O(model) memory.',
    create: (ctx) => createWeightedMeanAggregator(ctx),
  },
  {
    id: 'median',
    optionsSchema: z.strictObject({}),
    streaming: false,
    description: 'Coordinate-wise median (Yin et al. 2018); buffers every update.',
    create: (ctx) => createMedianAggregator(ctx),
  },
  {
    id: 'trimmed-mean',
    optionsSchema: z.strictObject({ trimBeta }),
    streaming: false,
    description: 'Coordinate-wise mean after dropping trimBeta of the values at each end (Yin et al. 2018); buffers every update.',
    create: (ctx, p) => createTrimmedMeanAggregator(ctx, p.trimBeta),
  },
  {
    id: 'krum',
    optionsSchema: z.strictObject({ krumF }),
    streaming: false,
    description: 'The single update closest to its n−f−2 nearest neighbours (Blanchard et al. 2017); buffers every update.',
    create: (ctx, p) => createKrumAggregator(ctx, p.krumF, 1, 'krum'),
  },
  {
    id: 'multi-krum',
    optionsSchema: z.strictObject({ krumF, krumM, krumWeighted }),
    streaming: false,
    description: 'Mean of the krumM best-scored updates (Blanchard et al. 2017), weighted by examples with krumWeighted; buffers every update.',
    create: (ctx, p) => createKrumAggregator(ctx, p.krumF, p.krumM, 'multi-krum', p.krumWeighted ?? false),
  },
  {
    id: 'bulyan',
    optionsSchema: z.strictObject({ krumF }),
    streaming: false,
    description: 'Krum picks k−2f updates one by one, then per coordinate the k−4f values nearest their median are averaged (El Mhamdi et al. 2018); needs k ≥ 4f+3; buffers every update.',
    create: (ctx, p) => createBulyanAggregator(ctx, p.krumF),
  },
];
