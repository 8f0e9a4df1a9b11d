import type * as tf from '@tensorflow/tfjs';
import { ChorusError, tensorSize } from '@chorus/core';
import type { DataSchema, TensorSpec } from '@chorus/core';
import { modelFromTopology, modelLayout } from './model-weights.js';
import type { TopologyLimits } from './topology-check.js';
import { checkUploadedModelJson, type ManifestEntry } from './upload-check.js';

export interface UploadedModel {
  topology: unknown;
  layout: TensorSpec[];
  weights: Float32Array;
}

function sameShape(a: readonly number[], b: readonly (number | null)[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function checkOutput(model: tf.LayersModel, data: DataSchema): void {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new ChorusError('INVALID_CONFIG', `model: expected one input and one output, got ${model.inputs.length} and ${model.outputs.length}`);
  }
  const input = model.inputs[0]!.shape.slice(1);
  if (!sameShape(data.inputShape, input)) {
    throw new ChorusError('SHAPE_MISMATCH', `model: its input shape is [${input.join(', ')}], data.inputShape is [${data.inputShape.join(', ')}]`);
  }
  const output = model.outputs[0]!.shape;
  if (output.length !== 2 || output[1] !== data.numClasses) {
    throw new ChorusError('SHAPE_MISMATCH', `model: its output has ${String(output.at(-1))} units, data.numClasses is ${data.numClasses}`);
  }
  const last = model.layers.at(-1)!;
  const activation = (last.getConfig() as { activation?: unknown }).activation;
  if (activation !== 'softmax' && last.getClassName() !== 'Softmax') {
    throw new ChorusError('INVALID_CONFIG', `model: the last layer "${last.name}" must end in softmax (training uses cross-entropy on probabilities), its activation is "${String(activation ?? last.getClassName())}"`);
  }
}

/**
 * Checks an uploaded TensorFlow.js Layers model (model.json + weights.bin) against a task's data
 * schema and returns its topology and weights in the order the platform keeps them. Errors name what
 * is wrong: INVALID_CONFIG (format, topology, activation), SHAPE_MISMATCH (manifest vs model, input
 * or output vs data, byte count), NON_FINITE (a NaN/Infinity weight), PAYLOAD_TOO_LARGE (more
 * parameters than `limits.maxParameters`). The topology is checked as data first (checkTopology):
 * tfjs never sees a cycle, a dangling reference or an absurd layer. Building still takes time in
 * proportion to the model, so a server runs this off its event loop.
 */
export async function validateUploadedModel(modelJson: unknown, weightData: Uint8Array, data: DataSchema, limits: Partial<TopologyLimits> = {}): Promise<UploadedModel> {
  const { modelConfig, byName } = checkUploadedModelJson(modelJson, weightData.byteLength, limits);
  const model = await modelFromTopology(modelConfig);
  try {
    checkOutput(model, data);
    const layout = modelLayout(model);
    const extra = [...byName.keys()].filter((name) => !layout.some((s) => s.name === name));
    if (extra.length > 0) throw new ChorusError('SHAPE_MISMATCH', `model.json: the weights manifest lists "${extra[0]}", which the model does not have`);
    const total = layout.reduce((n, s) => n + tensorSize(s.shape), 0);
    const weights = new Float32Array(total);
    // Copy through an aligned buffer: the upload's bytes may start at any offset.
    const all = new Float32Array(new Uint8Array(weightData).buffer);
    let at = 0;
    for (const spec of layout) {
      const found = byName.get(spec.name);
      if (!found) throw new ChorusError('SHAPE_MISMATCH', `model.json: the weights manifest has no entry for the model's weight "${spec.name}"`);
      if (!sameShape(spec.shape, found.entry.shape)) {
        throw new ChorusError('SHAPE_MISMATCH', `model.json: weight "${spec.name}" has shape [${found.entry.shape.join(', ')}] in the manifest, the model needs [${spec.shape.join(', ')}]`);
      }
      const n = tensorSize(spec.shape);
      weights.set(all.subarray(found.offset / 4, found.offset / 4 + n), at);
      at += n;
    }
    const bad = weights.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new ChorusError('NON_FINITE', `weights.bin: value ${bad} is ${weights[bad]}; every weight must be a finite number`);
    return { topology: model.toJSON(null, false), layout, weights };
  } finally {
    model.dispose();
  }
}
