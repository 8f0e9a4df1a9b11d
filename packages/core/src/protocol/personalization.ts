import { z } from 'zod';

/**
 * Personalization. FedPer (Arivazhagan et al. 2019) and FedRep (Collins et al. 2021): the layers
 * named here stay on each participant's device. Only the other (shared) layers travel, both ways;
 * the server's model, strategy and codecs see the shared layers only, so personal layers add
 * nothing to a DP guarantee's ε and never reach secure aggregation. Ditto (Li et al. 2021): the
 * whole model is shared and trained as in FedAvg, and each device also keeps a whole personal copy
 * trained on its own examples with (λ/2)·‖v − w_global‖² pulling it towards the shared model; the
 * personal copy is never sent either.
 */
/** Ditto's λ when a task does not set one: the value bench/personal.ts measures (bench/README.md, "personal"); not tuned. */
export const DITTO_LAMBDA_DEFAULT = 1;

/** Options apply to every method unless their metadata lists `methods` (the console shows them only for those). */
export const personalizationSchema = z.strictObject({
  method: z.enum(['fedper', 'fedrep', 'ditto']).default('fedper').meta({
    title: 'Personalization method',
    description: 'fedper: every layer trains together each round. fedrep: the personal layers train first with the shared ones frozen (headEpochs), then the shared ones with the personal ones frozen (localEpochs). ditto: the whole model is shared; each device also trains its own whole copy, pulled towards the shared model by lambda. FedPer and FedRep lose accuracy when devices\' data look alike (IID: about 10 points in our benchmark); Ditto with chooseByValidation does not.',
  }),
  personalLayers: z
    .array(z.string().min(1, 'must name a layer').max(200, 'must be at most 200 characters'))
    .min(1, 'must name at least one layer')
    .max(100, 'must name at most 100 layers')
    .optional()
    .meta({
      title: 'Personal layers',
      methods: ['fedper', 'fedrep'],
      description: "fedper and fedrep: names of the layers that stay on each device (the tensor name before '/'). Default: the output head, the last layer with weights. Not used by ditto, which keeps a whole copy.",
    }),
  headEpochs: z.number().int('must be an integer').min(1, 'must be ≥ 1').max(100, 'must be ≤ 100').default(1).meta({
    title: 'Personal-layer epochs (FedRep)',
    methods: ['fedrep'],
    description: 'fedrep: epochs on the personal layers, shared layers frozen, before the shared layers train.',
  }),
  lambda: z.number().min(0, 'must be in [0, 100]').max(100, 'must be in [0, 100]').default(DITTO_LAMBDA_DEFAULT).meta({
    title: 'Ditto λ',
    methods: ['ditto'],
    description: "ditto: strength of the pull of each device's own model towards the shared one, (λ/2)·‖v − w‖² added to its loss. 0 trains it on the device's examples alone; large values keep it close to the shared model.",
  }),
  chooseByValidation: z.boolean().default(true).meta({
    title: 'Ditto: keep whichever model validates better',
    methods: ['ditto'],
    description:
      "ditto: each device scores its own model and the shared one on a validation part of its training examples (holdoutFraction of them, which its own model does not train on) and uses its own only where it scores higher; otherwise it uses the shared model. Devices whose data look like everyone's then lose nothing to personalization.",
  }),
  holdoutFraction: z.number().min(0.05, 'must be in [0.05, 0.5]').max(0.5, 'must be in [0.05, 0.5]').default(0.2).meta({
    title: 'Held-out share of each device\'s examples',
    description: "Kept out of training on each device to measure the shared model's and the participant's own model's accuracy every round.",
  }),
});
export type PersonalizationConfig = z.infer<typeof personalizationSchema>;
export type PersonalizationConfigInput = z.input<typeof personalizationSchema>;

/**
 * The personalization a participant is sent: `personalLayers` resolved by the server (empty for
 * ditto, whose personal model is the whole model).
 */
export const personalizationInfoSchema = personalizationSchema.extend({
  personalLayers: z.array(z.string().min(1, 'must name a layer').max(200, 'must be at most 200 characters')).max(100, 'must name at most 100 layers'),
});

/**
 * What a personalized task's trainer reports about one participant's own data beyond training
 * loss: its held-out accuracies with the shared model and with its own, the gain between them, and
 * (Ditto) whether it kept its own model. The server publishes them only as aggregates over at least
 * MIN_PERSONAL_REPORTS participants, and a participant of a task with differential privacy does
 * not send them at all: they are not noised, so they would leak what DP protects.
 */
export const PERSONAL_METRICS = ['holdoutSharedAccuracy', 'holdoutPersonalAccuracy', 'personalGainPp', 'ownModelChosen'] as const;

/** Fewer reports than this in a round are not published: an aggregate of one or two is their values. */
export const MIN_PERSONAL_REPORTS = 3;

/** `metrics` without the PERSONAL_METRICS: what a participant of a DP task may send. */
export function withoutPersonalMetrics(metrics: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = { ...metrics };
  for (const k of PERSONAL_METRICS) delete out[k];
  return out;
}
