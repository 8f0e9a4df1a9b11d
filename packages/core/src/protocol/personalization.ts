import { z } from 'zod';

/**
 * Personalization (FedPer, Arivazhagan et al. 2019; FedRep, Collins et al. 2021): the layers named
 * here stay on each participant's device. Only the other (shared) layers travel, both ways; the
 * server's model, strategy and codecs see the shared layers only, so personal layers add nothing to
 * a DP guarantee's ε and never reach secure aggregation.
 */
export const personalizationSchema = z.strictObject({
  method: z.enum(['fedper', 'fedrep']).default('fedper').meta({
    title: 'Personalization method',
    description: 'fedper: every layer trains together each round. fedrep: the personal layers train first with the shared ones frozen (headEpochs), then the shared ones with the personal ones frozen (localEpochs).',
  }),
  personalLayers: z
    .array(z.string().min(1, 'must name a layer').max(200, 'must be at most 200 characters'))
    .min(1, 'must name at least one layer')
    .max(100, 'must name at most 100 layers')
    .optional()
    .meta({
      title: 'Personal layers',
      description: "Names of the layers that stay on each device (the tensor name before '/'). Default: the output head, the last layer with weights.",
    }),
  headEpochs: z.number().int('must be an integer').min(1, 'must be ≥ 1').max(100, 'must be ≤ 100').default(1).meta({
    title: 'Personal-layer epochs (FedRep)',
    description: 'fedrep: epochs on the personal layers, shared layers frozen, before the shared layers train.',
  }),
  holdoutFraction: z.number().min(0.05, 'must be in [0.05, 0.5]').max(0.5, 'must be in [0.05, 0.5]').default(0.2).meta({
    title: 'Held-out share of each device\'s examples',
    description: "Kept out of training on each device to measure the shared model's and the participant's own model's accuracy every round.",
  }),
});
export type PersonalizationConfig = z.infer<typeof personalizationSchema>;
export type PersonalizationConfigInput = z.input<typeof personalizationSchema>;
