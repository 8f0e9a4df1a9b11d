import type * as tf from '@tensorflow/tfjs';
import { ChorusError, gatherTensors, mergeTensors, personalLayersOrStart, splitLayout, subsetDataset } from '@chorus/core';
import type { Dataset, FlatWeights, PersonalizationInfo, TrainingConfig } from '@chorus/core';
import { modelLayout, readModelWeightsAsync, writeModelWeights } from '../models/model-weights.js';
import { evaluateModel } from './evaluate.js';
import { holdoutIndices } from './holdout.js';
import type { PersonalizedTrainingResult } from './personalized-result.js';
import { trainDitto } from './train-ditto.js';
import { trainLocal, type LocalTrainingOptions } from './train-local.js';
import type { TrainingOverrides } from './training-options.js';

// The seeded head every device starts from lives in core: the page's suggestion model uses it too, without tfjs.
export { initialPersonalLayers, PERSONAL_INIT_SEED } from '@chorus/core';

function setTrainable(model: tf.LayersModel, trainable: (layerName: string) => boolean): void {
  for (const layer of model.layers) layer.trainable = trainable(layer.name);
}

export { holdoutIndices } from './holdout.js';
export type { PersonalizedTrainingResult } from './personalized-result.js';

/**
 * One round of FedPer / FedRep (Ditto: see trainDitto) on the device. The model gets the downloaded shared layers and the
 * device's personal layers (`initialPersonalLayers` the first time), trains on all but
 * the held-out examples, and hands back the shared delta and the new personal layers separately.
 * FedRep trains the personal layers first (`headEpochs`, shared ones frozen), then the shared ones
 * (`localEpochs`, personal ones frozen); FedPer trains all of them together.
 */
export async function trainPersonalized(
  model: tf.LayersModel,
  data: Dataset,
  global: FlatWeights,
  personal: { readonly config: PersonalizationInfo; readonly values?: FlatWeights | undefined },
  training: TrainingConfig & { overrides?: TrainingOverrides },
  options: LocalTrainingOptions = {},
): Promise<PersonalizedTrainingResult> {
  if (personal.config.method === 'ditto') return trainDitto(model, data, global, personal, training, options);
  if (personal.config.personalLayers.length === 0) throw new ChorusError('INVALID_CONFIG', `trainPersonalized: ${personal.config.method} needs at least one personal layer`);
  const layout = modelLayout(model);
  const split = splitLayout(layout, personal.config.personalLayers);
  // Stored layers that no longer fit the model (the task was recreated) are started afresh.
  const mine = personalLayersOrStart(layout, personal.config.personalLayers, personal.values);
  const start = mergeTensors(layout, [global, mine]);
  writeModelWeights(model, start);

  const { train, holdout } = holdoutIndices(data.count, personal.config.holdoutFraction);
  const trainData = holdout.length === 0 ? data : subsetDataset(data, train);
  const held = holdout.length === 0 ? undefined : subsetDataset(data, holdout);
  const sharedAccuracy = held ? (await evaluateModel(model, held)).accuracy : undefined;

  const personalLayers = new Set(personal.config.personalLayers);
  let metrics: Record<string, number>;
  let numExamples: number;
  try {
    if (personal.config.method === 'fedrep') {
      setTrainable(model, (name) => personalLayers.has(name));
      const head = await trainLocal(model, trainData, { ...training, overrides: { ...training.overrides, localEpochs: personal.config.headEpochs } }, options);
      setTrainable(model, (name) => !personalLayers.has(name));
      const body = await trainLocal(model, trainData, training, options);
      numExamples = body.numExamples;
      metrics = { ...body.metrics, trainMs: head.metrics.trainMs + body.metrics.trainMs, headLoss: head.metrics.loss };
    } else {
      const r = await trainLocal(model, trainData, training, options);
      numExamples = r.numExamples;
      metrics = { ...r.metrics };
    }
  } finally {
    setTrainable(model, () => true);
  }
  if (held) {
    const personalAccuracy = (await evaluateModel(model, held)).accuracy;
    metrics.holdoutSharedAccuracy = sharedAccuracy!;
    metrics.holdoutPersonalAccuracy = personalAccuracy;
    metrics.personalGainPp = (personalAccuracy - sharedAccuracy!) * 100;
    metrics.holdoutExamples = held.count;
  }
  const after = (await readModelWeightsAsync(model)).values;
  const full = new Float32Array(after.length);
  for (let i = 0; i < full.length; i++) full[i] = after[i]! - start[i]!;
  const delta = gatherTensors(layout, full, split.shared);
  if (delta.length !== global.values.length) {
    throw new ChorusError('SHAPE_MISMATCH', `trainPersonalized: the shared layers hold ${delta.length} values; the download held ${global.values.length}`);
  }
  return { delta, personal: { layout: split.personal, values: gatherTensors(layout, after, split.personal) }, numExamples, metrics };
}
