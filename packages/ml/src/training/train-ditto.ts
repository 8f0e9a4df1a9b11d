import type * as tf from '@tensorflow/tfjs';
import { ChorusError, sameLayout, subsetDataset } from '@chorus/core';
import type { Dataset, FlatWeights, PersonalizationInfo, TrainingConfig } from '@chorus/core';
import { modelLayout, readModelWeightsAsync, writeModelWeights } from '../models/model-weights.js';
import { evaluateModel } from './evaluate.js';
import { holdoutIndices } from './holdout.js';
import { trainLocal, type LocalTrainingOptions, type LocalTrainingProgress } from './train-local.js';
import type { TrainingOverrides } from './training-options.js';
import type { PersonalizedTrainingResult } from './personalized-result.js';

/** Reports one of two training passes as half of one progress bar. */
function half(onProgress: LocalTrainingOptions['onProgress'], second: boolean): LocalTrainingOptions['onProgress'] {
  if (!onProgress) return undefined;
  return (p: LocalTrainingProgress) => onProgress({ ...p, epoch: p.epoch + (second ? p.epochs : 0), epochs: p.epochs * 2 });
}

/**
 * One round of Ditto (Li et al. 2021, "Ditto: Fair and Robust Federated Learning Through
 * Personalization") on the device. The shared update is FedAvg's: local training from the
 * downloaded global model w. Beside it, the device's own whole model v (the global model the first
 * time) trains on the same examples with (λ/2)·‖v − w‖² added to its loss, so it learns what is
 * particular to this device while staying near what everyone learned. Only the shared delta
 * travels; v stays on the device. With `chooseByValidation` v trains on all but a validation part
 * of the training examples, and the device uses v only where it scores better there than the
 * downloaded model (`useShared` in what it keeps): on data like everyone's, personalization then
 * costs nothing but the validation noise.
 */
export async function trainDitto(
  model: tf.LayersModel,
  data: Dataset,
  global: FlatWeights,
  personal: { readonly config: PersonalizationInfo; readonly values?: FlatWeights | undefined },
  training: TrainingConfig & { overrides?: TrainingOverrides },
  options: LocalTrainingOptions = {},
): Promise<PersonalizedTrainingResult> {
  const layout = modelLayout(model);
  if (!sameLayout(layout, global.layout)) throw new ChorusError('SHAPE_MISMATCH', 'trainDitto: the download does not match the model (ditto shares the whole model)');
  const stored = personal.values;
  // A stored copy that no longer fits the model (the task was recreated) is started afresh.
  const start = stored !== undefined && sameLayout(stored.layout, layout) ? stored.values : global.values;

  const { train, holdout } = holdoutIndices(data.count, personal.config.holdoutFraction);
  const trainData = holdout.length === 0 ? data : subsetDataset(data, train);
  const held = holdout.length === 0 ? undefined : subsetDataset(data, holdout);

  // With chooseByValidation the personal model leaves a validation part of the training examples out.
  const choose = personal.config.chooseByValidation ? holdoutIndices(trainData.count, personal.config.holdoutFraction) : undefined;
  const validating = choose !== undefined && choose.holdout.length > 0;
  const fitData = validating ? subsetDataset(trainData, choose.train) : trainData;
  const validation = validating ? subsetDataset(trainData, choose.holdout) : undefined;

  writeModelWeights(model, global.values);
  const sharedAccuracy = held ? (await evaluateModel(model, held)).accuracy : undefined;
  const sharedValidation = validation ? await evaluateModel(model, validation) : undefined;
  const shared = await trainLocal(model, trainData, training, { ...options, onProgress: half(options.onProgress, false) });

  writeModelWeights(model, start);
  const own = await trainLocal(model, fitData, { ...training, overrides: { ...training.overrides, proxMu: personal.config.lambda } }, {
    ...options,
    onProgress: half(options.onProgress, true),
    proxAnchor: global.values,
  });
  const metrics: Record<string, number> = { ...shared.metrics, trainMs: shared.metrics.trainMs + own.metrics.trainMs, personalLoss: own.metrics.loss };
  // The device keeps its own model only where it beats the shared one on examples neither trained on
  // here; a tie goes to the shared model, the one with everyone's examples behind it.
  let useShared = false;
  if (validation && sharedValidation) {
    const mineValidation = await evaluateModel(model, validation);
    useShared = !(mineValidation.accuracy > sharedValidation.accuracy);
    metrics.ownModelChosen = useShared ? 0 : 1;
  }
  if (held) {
    const personalAccuracy = useShared ? sharedAccuracy! : (await evaluateModel(model, held)).accuracy;
    metrics.holdoutSharedAccuracy = sharedAccuracy!;
    metrics.holdoutPersonalAccuracy = personalAccuracy;
    metrics.personalGainPp = (personalAccuracy - sharedAccuracy!) * 100;
    metrics.holdoutExamples = held.count;
  }
  const mine = (await readModelWeightsAsync(model)).values;
  return { delta: shared.delta, personal: { layout, values: mine, ...(validating ? { useShared } : {}) }, numExamples: shared.numExamples, metrics };
}
