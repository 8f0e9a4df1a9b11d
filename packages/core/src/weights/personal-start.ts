import { createSeededRandom } from '../random/seeded-random.js';
import { sameLayout, type FlatWeights, type TensorSpec } from './layout.js';
import { gatherTensors, splitLayout, type PersonalWeights } from './personal-split.js';
import { seededGlorotWeights } from './seeded-init.js';

/** Seed of the personal layers every device starts from. */
export const PERSONAL_INIT_SEED = 0x5eed;

/**
 * The personal layers a device starts with: the same seeded Glorot values on every device (drawn
 * over the whole model, then cut), so that in the first rounds every device trains the shared
 * layers under the same head. Heads drawn independently per device pull the averaged shared layers
 * in unrelated directions: on IID data that cost FedPer 40 points after 2 rounds in our bench.
 */
export function initialPersonalLayers(layout: readonly TensorSpec[], personal: readonly TensorSpec[]): FlatWeights {
  return { layout: personal, values: gatherTensors(layout, seededGlorotWeights(layout, createSeededRandom(PERSONAL_INIT_SEED)), personal) };
}

/**
 * A FedPer / FedRep device's personal layers of the model `layout`: the ones it keeps (`stored`)
 * where they still fit (a recreated task may have other shapes), else the seeded start every
 * device's first round trains from.
 */
export function personalLayersOrStart(layout: readonly TensorSpec[], personalLayers: readonly string[], stored: FlatWeights | undefined): FlatWeights {
  const { personal } = splitLayout(layout, personalLayers);
  return stored !== undefined && sameLayout(stored.layout, personal) ? stored : initialPersonalLayers(layout, personal);
}

/**
 * What a device puts over the downloaded model (`layout`: the whole model's tensors) to predict
 * with its own model. FedPer / FedRep: its personal layers (personalLayersOrStart), since the
 * download lacks them. Ditto: its whole personal copy, unless it has none yet, it no longer fits,
 * or the device found the shared model better (`useShared`); undefined then: the download as it is.
 */
export function personalWeightsForPrediction(
  layout: readonly TensorSpec[],
  personalization: { readonly method: 'fedper' | 'fedrep' | 'ditto'; readonly personalLayers: readonly string[] },
  stored: PersonalWeights | undefined,
): FlatWeights | undefined {
  if (personalization.method !== 'ditto') return personalLayersOrStart(layout, personalization.personalLayers, stored);
  return stored !== undefined && !stored.useShared && sameLayout(stored.layout, layout) ? stored : undefined;
}
