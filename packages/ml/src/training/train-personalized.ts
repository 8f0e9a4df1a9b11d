import type * as tf from '@tensorflow/tfjs';
import { ChorusError, createSeededRandom, gatherTensors, mergeTensors, splitLayout, subsetDataset } from '@chorus/core';
import type { Dataset, FlatWeights, PersonalizationInfo, TensorSpec, TrainingConfig } from '@chorus/core';
import { modelLayout, readModelWeightsAsync, seededGlorotWeights, writeModelWeights } from '../models/model-weights.js';
import { evaluateModel } from './evaluate.js';
import { trainLocal, type LocalTrainingOptions } from './train-local.js';
import type { TrainingOverrides } from './training-options.js';

export interface PersonalizedTrainingResult {
  /** Trained minus downloaded values of the shared layers only: what is uploaded. */
  readonly delta: Float32Array;
  /** The device's personal layers after this round: what is kept. */
  readonly personal: FlatWeights;
  readonly numExamples: number;
  /**
   * Training metrics, plus on the held-out examples (when there are any): `holdoutSharedAccuracy`
   * (the downloaded shared layers with the personal layers as they were), `holdoutPersonalAccuracy`
   * (after this round's local training) and `personalGainPp` (their difference, in points).
   */
  readonly metrics: Record<string, number>;
}

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

/** Golden-ratio spread: example i is held out when frac(i·φ) < fraction — stable, deterministic, spread over the whole store. */
export function holdoutIndices(count: number, fraction: number): { train: Int32Array; holdout: Int32Array } {
  const train: number[] = [];
  const holdout: number[] = [];
  const phi = 0.6180339887498949;
  for (let i = 0; i < count; i++) ((i * phi) % 1 < fraction ? holdout : train).push(i);
  // Too few examples to spare any: train on all, score nothing.
  if (train.length === 0 || holdout.length === 0) return { train: Int32Array.from({ length: count }, (_, i) => i), holdout: new Int32Array(0) };
  return { train: Int32Array.from(train), holdout: Int32Array.from(holdout) };
}

function setTrainable(model: tf.LayersModel, trainable: (layerName: string) => boolean): void {
  for (const layer of model.layers) layer.trainable = trainable(layer.name);
}

/**
 * One round of FedPer / FedRep on the device. The model gets the downloaded shared layers and the
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
  const layout = modelLayout(model);
  const split = splitLayout(layout, personal.config.personalLayers);
  const stored = personal.values;
  // Stored layers that no longer fit the model (the task was recreated) are started afresh.
  const fits = stored !== undefined && stored.layout.length === split.personal.length && stored.layout.every((t, i) => t.name === split.personal[i]!.name && t.shape.join('x') === split.personal[i]!.shape.join('x'));
  const mine: FlatWeights = fits ? stored : initialPersonalLayers(layout, split.personal);
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
