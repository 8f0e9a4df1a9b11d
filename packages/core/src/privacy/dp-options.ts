import { z } from 'zod';

/** Adaptive clipping (Andrew et al. 2021): C follows a noised quantile of the update norms. */
export const adaptiveClippingSchema = z.strictObject({
  targetQuantile: z.number().min(0, 'must be in [0, 1]').max(1, 'must be in [0, 1]').default(0.5).meta({ description: 'Share of updates that should fall under the clip norm (γ).' }),
  learningRate: z.number().positive('must be > 0').max(10, 'must be ≤ 10').default(0.2).meta({ description: 'Geometric step η_C: C ← C·exp(−η_C·(b̄ − γ)).' }),
  countStddev: z.number().positive('must be > 0').optional().meta({ description: "Std σ_b of the noise on the count of unclipped updates. Default: expectedClients / 20 (the paper's choice), or no count noise when noiseMultiplier is 0 (as Flower)." }),
});

/**
 * DP-FedAvg (McMahan et al. 2018) with a trusted server: clip each update, average with a fixed
 * denominator, add Gaussian noise, account with RDP.
 */
export const dpOptionsSchema = z
  .strictObject({
    clipNorm: z.number().positive('must be > 0').meta({ description: 'L2 bound C every client update is clipped to (the initial C with adaptive clipping).' }),
    noiseMultiplier: z.number().min(0, 'must be ≥ 0').max(1000, 'must be ≤ 1000').meta({ description: 'Noise multiplier z: noise std on the sum is z·C.' }),
    expectedClients: z.number().int('must be an integer').min(1, 'must be ≥ 1').optional().meta({ description: 'Fixed denominator of the average. Default: the number of updates received that round.' }),
    sampleRate: z.number().gt(0, 'must be in (0, 1]').max(1, 'must be in (0, 1]').optional().meta({ description: 'Client sampling rate q for the accountant. Default: selected / population of each round.' }),
    targetDelta: z.number().gt(0, 'must be in (0, 1)').lt(1, 'must be in (0, 1)').default(1e-5).meta({ description: 'δ of the reported (ε, δ).' }),
    epsilonBudget: z.number().positive('must be > 0').optional().meta({ description: 'Stop training (BUDGET_EXHAUSTED) before a round that would take ε above this. Default: none.' }),
    adaptiveClipping: adaptiveClippingSchema.optional().meta({ description: 'Adaptive clipping (Andrew et al. 2021): C follows a noised quantile of the update norms. Default: off.' }),
  })
  .superRefine((o, ctx) => {
    if (!o.adaptiveClipping) return;
    // Without noise there is no count noise to scale and no guarantee a fixed denominator protects.
    if (o.noiseMultiplier === 0) return;
    if (o.expectedClients === undefined) {
      ctx.addIssue({ code: 'custom', path: ['expectedClients'], message: 'is required with adaptiveClipping and noise (the count noise is scaled by it)' });
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

/**
 * Std of the count noise σ_b, or 0 without adaptive clipping. With noiseMultiplier 0 the default is
 * 0 too, as in Flower's `compute_adaptive_noise_params`: a count that protects nothing is not
 * noised, so C follows the true quantile. An explicit countStddev is honoured either way (Flower too).
 */
export function countStddev(o: DpOptions): number {
  if (!o.adaptiveClipping) return 0;
  if (o.adaptiveClipping.countStddev !== undefined) return o.adaptiveClipping.countStddev;
  return o.noiseMultiplier === 0 ? 0 : (o.expectedClients ?? 1) / 20;
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
