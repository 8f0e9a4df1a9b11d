import type { z } from 'zod';
import type { RoundAggregator, RoundContext } from '../strategy.js';

// The registration shape lives apart from the registry: the built-ins the registry starts with
// import it, and importing the registry itself would make an import circle.

/** Parameters every aggregator may read; each uses only its own. */
export interface AggregatorParams {
  /** Fraction trimmed from each end by trimmed-mean. */
  readonly trimBeta: number;
  /** Byzantine clients Krum assumes. */
  readonly krumF: number;
  /** Updates Multi-Krum averages (default k − f). */
  readonly krumM?: number;
  /** Multi-Krum averages its picks by example count (Flower's behaviour) instead of equally. */
  readonly krumWeighted?: boolean;
}

export interface AggregatorRegistration {
  readonly id: string;
  /** False when the aggregator keeps every update until the round ends (O(model × clients) memory). */
  readonly streaming: boolean;
  readonly description: string;
  /** The strategy options this aggregator reads (a subset of aggregationOptionsShape); the console draws them when it is picked. */
  readonly optionsSchema: z.ZodObject;
  create(ctx: RoundContext, params: AggregatorParams): RoundAggregator;
}
