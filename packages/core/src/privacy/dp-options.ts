import { z } from 'zod';

/** Adaptive clipping (Andrew et al. 2021): C follows a noised quantile of the update norms. */
export const adaptiveClippingSchema = z.strictObject({
  /** Share of updates that should fall under the clip norm (γ). @default 0.5 */
  targetQuantile: z.number().min(0, 'must be in [0, 1]').max(1, 'must be in [0, 1]').default(0.5),
  /** Geometric step η_C: C ← C·exp(−η_C·(b̄ − γ)). @default 0.2 */
  learningRate: z.number().positive('must be > 0').max(10, 'must be ≤ 10').default(0.2),
  /** Std σ_b of the noise on the count of unclipped updates. @default expectedClients / 20 (the paper's choice) */
  countStddev: z.number().positive('must be > 0').optional(),
});

/**
 * DP-FedAvg (McMahan et al. 2018) with a trusted server: clip each update, average with a fixed
 * denominator, add Gaussian noise, account with RDP.
 */
export const dpOptionsSchema = z
  .strictObject({
    /** L2 bound C every client update is clipped to (the initial C with adaptive clipping). */
    clipNorm: z.number().positive('must be > 0'),
    /** Noise multiplier z: noise std on the sum is z·C. */
    noiseMultiplier: z.number().min(0, 'must be ≥ 0').max(1000, 'must be ≤ 1000'),
    /** Fixed denominator of the average. @default the number of updates received that round */
    expectedClients: z.number().int('must be an integer').min(1, 'must be ≥ 1').optional(),
    /** Client sampling rate q for the accountant. @default selected / population of each round */
    sampleRate: z.number().gt(0, 'must be in (0, 1]').max(1, 'must be in (0, 1]').optional(),
    /** δ of the reported (ε, δ). @default 1e-5 */
    targetDelta: z.number().gt(0, 'must be in (0, 1)').lt(1, 'must be in (0, 1)').default(1e-5),
    /** Stop training (BUDGET_EXHAUSTED) before a round that would take ε above this. @default none */
    epsilonBudget: z.number().positive('must be > 0').optional(),
    adaptiveClipping: adaptiveClippingSchema.optional(),
  })
  .superRefine((o, ctx) => {
    if (!o.adaptiveClipping) return;
    if (o.expectedClients === undefined) {
      ctx.addIssue({ code: 'custom', path: ['expectedClients'], message: 'is required with adaptiveClipping (the count noise is scaled by it)' });
      return;
    }
    const sb = o.adaptiveClipping.countStddev ?? o.expectedClients / 20;
    if (o.noiseMultiplier > 0 && !(1 / o.noiseMultiplier ** 2 > 1 / (2 * sb) ** 2)) {
      ctx.addIssue({
        code: 'custom',
        path: ['adaptiveClipping', 'countStddev'],
        message: `count noise ${sb} is too small for noiseMultiplier ${o.noiseMultiplier}: need 2·countStddev > noiseMultiplier`,
      });
    }
  });

export type DpOptions = z.infer<typeof dpOptionsSchema>;
export type DpOptionsInput = z.input<typeof dpOptionsSchema>;

/** Std of the count noise σ_b, or 0 without adaptive clipping. */
export function countStddev(o: DpOptions): number {
  if (!o.adaptiveClipping) return 0;
  return o.adaptiveClipping.countStddev ?? (o.expectedClients ?? 1) / 20;
}

/**
 * Noise multiplier left for the update sum once the clip-count query takes its share, so that the
 * two releases together cost exactly `noiseMultiplier` (Andrew et al. 2021, Thm. 1):
 * z_Δ = (z⁻² − (2σ_b)⁻²)^(−½).
 */
export function deltaNoiseMultiplier(o: DpOptions): number {
  const sb = countStddev(o);
  if (sb === 0 || o.noiseMultiplier === 0) return o.noiseMultiplier;
  return 1 / Math.sqrt(1 / o.noiseMultiplier ** 2 - 1 / (2 * sb) ** 2);
}
