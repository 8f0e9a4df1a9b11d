import * as tf from '@tensorflow/tfjs';
import { ChorusError, assertSameLayout, layoutSize, seededInitialWeights, tensorSize } from '@chorus/core';
import type { DataSchema, FlatWeights, RandomSource, TensorSpec } from '@chorus/core';
import { getModelTemplate } from './templates.js';

/**
 * The layout of a model's weights, in `model.weights` order. Names are tfjs's *original* names
 * ("conv1/kernel"): the ones it writes in a weights manifest and matches when loading. The live
 * variable names get a per-process "_1" suffix when a layer name repeats, so they are not stable.
 */
export function modelLayout(model: tf.LayersModel): TensorSpec[] {
  return model.weights.map((w) => ({ name: w.originalName, shape: [...w.shape] as number[] }));
}

export function readModelWeights(model: tf.LayersModel): FlatWeights {
  const layout = modelLayout(model);
  const values = new Float32Array(layoutSize(layout));
  let offset = 0;
  for (const w of model.weights) {
    const data = w.read().dataSync();
    values.set(data, offset);
    offset += data.length;
  }
  return { layout, values };
}

/**
 * readModelWeights without synchronous reads. On GPU backends dataSync stalls the thread, and
 * tfjs-backend-webgpu 4.22 implements it through a canvas round trip that corrupts values and then
 * loses the device on SwiftShader; `data()` maps the buffers asynchronously instead.
 */
export async function readModelWeightsAsync(model: tf.LayersModel): Promise<FlatWeights> {
  const layout = modelLayout(model);
  const values = new Float32Array(layoutSize(layout));
  const parts = await Promise.all(model.weights.map((w) => w.read().data()));
  let offset = 0;
  for (const data of parts) {
    values.set(data as Float32Array, offset);
    offset += data.length;
  }
  return { layout, values };
}

export function writeModelWeights(model: tf.LayersModel, values: Float32Array): void {
  const layout = modelLayout(model);
  const expected = layoutSize(layout);
  if (values.length !== expected) {
    throw new ChorusError('SHAPE_MISMATCH', `writeModelWeights: got ${values.length} values; model "${model.name}" has ${expected} weights`);
  }
  tf.tidy(() => {
    let offset = 0;
    const tensors = layout.map((spec) => {
      const n = tensorSize(spec.shape);
      const t = tf.tensor(values.subarray(offset, offset + n), [...spec.shape], 'float32');
      offset += n;
      return t;
    });
    model.setWeights(tensors);
  });
}

/** Moved to core, where participants rebuild a template task's version 0 without TensorFlow.js. */
export { seededGlorotWeights } from '@chorus/core';

export interface InitialModel {
  /** The Keras-style JSON topology (`model.toJSON(null, false)`). */
  topology: unknown;
  layout: TensorSpec[];
  weights: Float32Array;
  data: DataSchema;
}

/**
 * A template's model with weights drawn deterministically from `seed`. `data` (a task's data schema:
 * a CSV's columns, a vocabulary) sizes templates whose input and classes depend on it; it is checked
 * by the template first. @default the template's own `data`
 */
export async function createInitialModel(templateId: string, seed: number, data?: DataSchema): Promise<InitialModel> {
  const template = getModelTemplate(templateId);
  if (data) template.checkData?.(data);
  const model = template.build(data);
  try {
    const layout = modelLayout(model);
    const weights = seededInitialWeights(layout, seed);
    const topology = model.toJSON(null, false);
    return { topology, layout, weights, data: data ?? template.data };
  } finally {
    model.dispose();
  }
}

/**
 * Rebuilds a model from its JSON topology and, when given, sets its weights. `layout` (optional)
 * is checked against the rebuilt model so a stored update cannot land in the wrong tensors.
 */
export async function modelFromTopology(topology: unknown, values?: Float32Array, layout?: readonly TensorSpec[]): Promise<tf.LayersModel> {
  if (topology === null || typeof topology !== 'object') {
    throw new ChorusError('INVALID_CONFIG', 'modelFromTopology: topology must be a JSON object (model.toJSON(null, false))');
  }
  let model: tf.LayersModel;
  try {
    model = await tf.models.modelFromJSON(topology as tf.io.ModelJSON['modelTopology'] as never);
  } catch (err) {
    throw new ChorusError('INVALID_CONFIG', `modelFromTopology: tfjs could not build the topology: ${(err as Error).message}`, { cause: err });
  }
  try {
    if (layout) assertSameLayout(modelLayout(model), layout, 'weights layout');
    if (values) writeModelWeights(model, values);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}

export interface TfjsArtifacts {
  /** Contents of model.json, loadable by `tf.loadLayersModel`. */
  modelJson: {
    format: 'layers-model';
    generatedBy: string;
    convertedBy: null;
    modelTopology: unknown;
    weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: 'float32' }[] }[];
  };
  /** Contents of weights.bin: the float32 values, little-endian, in layout order. */
  weightData: Uint8Array;
}

export const WEIGHTS_FILE_NAME = 'weights.bin';

export function toTfjsArtifacts(topology: unknown, layout: readonly TensorSpec[], values: Float32Array): TfjsArtifacts {
  const expected = layoutSize(layout);
  if (values.length !== expected) {
    throw new ChorusError('SHAPE_MISMATCH', `toTfjsArtifacts: got ${values.length} values; the layout holds ${expected}`);
  }
  const weightData = new Uint8Array(values.byteLength);
  weightData.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  return {
    modelJson: {
      format: 'layers-model',
      generatedBy: 'chorus',
      convertedBy: null,
      modelTopology: topology,
      weightsManifest: [
        { paths: [WEIGHTS_FILE_NAME], weights: layout.map((s) => ({ name: s.name, shape: [...s.shape], dtype: 'float32' as const })) },
      ],
    },
    weightData,
  };
}
