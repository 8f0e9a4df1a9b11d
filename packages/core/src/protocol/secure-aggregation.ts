import { z } from 'zod';
import { DEFAULT_QUANTIZATION_BITS, MAX_NEIGHBOURS } from '../secagg/secagg-params.js';

/**
 * Secure aggregation (SecAgg+, Bell et al. 2020): the server learns only the sum of a round's
 * updates. Each participant agrees keys with `neighbours` others and Shamir-shares its secrets
 * among them so that any `threshold` of them can recover what the sum needs when it drops out.
 */
export const secureAggregationSchema = z
  .strictObject({
    neighbours: z.number().int('must be an integer').min(2, 'must be ≥ 2').max(MAX_NEIGHBOURS, `must be ≤ ${MAX_NEIGHBOURS}`).meta({
      title: 'Neighbours per participant',
      description: 'Each participant shares keys with this many others (rounded up to even; fewer in a smaller round). About 2·log2(n) to a few dozen is usual.',
    }),
    threshold: z.number().int('must be an integer').min(2, 'must be ≥ 2').max(MAX_NEIGHBOURS, `must be ≤ ${MAX_NEIGHBOURS}`).meta({
      title: 'Threshold',
      description: 'Neighbours that must stay to the end for a participant\'s secrets to be recovered. More than half the neighbours.',
    }),
    quantizationBits: z.number().int('must be an integer').min(2, 'must be ≥ 2').max(16, 'must be ≤ 16').default(DEFAULT_QUANTIZATION_BITS).meta({
      title: 'Quantization bits',
      description: 'Bits per value before summing (after a random rotation); the ring adds log2(participants) bits.',
    }),
    /** @default 30_000 */
    stageDeadlineMs: z.number().int('must be an integer').min(100, 'must be ≥ 100').max(3_600_000, 'must be ≤ 3600000').default(30_000).meta({
      title: 'Deadline per stage (ms)',
      description: 'How long the server waits for each of the protocol\'s stages (keys, shares, masked input, unmasking).',
    }),
  })
  .refine((s) => s.threshold <= s.neighbours, { message: 'threshold must not be above neighbours', path: ['threshold'] })
  .refine((s) => 2 * s.threshold > s.neighbours, { message: 'threshold must be more than half of neighbours (otherwise two halves of a neighbourhood could each rebuild secrets)', path: ['threshold'] });
export type SecureAggregationConfig = z.infer<typeof secureAggregationSchema>;
