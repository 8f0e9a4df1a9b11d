import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { ChorusError } from '@chorus/core';
import type { DataSchema } from '@chorus/core';
import { validateUploadedModel } from './uploaded-model.js';

const DATA: DataSchema = { kind: 'tabular', inputShape: [3], numClasses: 2 };

/** A small dense model saved the way tfjs saves one (model.json contents + weights.bin bytes). */
async function savedModel(activation: 'softmax' | 'linear' = 'softmax'): Promise<{ modelJson: Record<string, unknown>; weights: Uint8Array; values: Float32Array }> {
  const model = tf.sequential({
    layers: [tf.layers.dense({ name: 'h', inputShape: [3], units: 4, activation: 'relu' }), tf.layers.dense({ name: 'out', units: 2, activation })],
  });
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
  const values = new Float32Array(await tf.concat(model.getWeights().map((w) => w.flatten())).data());
  model.dispose();
  const modelJson = { format: 'layers-model', generatedBy: 'test', convertedBy: null, modelTopology: saved!.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: saved!.weightSpecs }] };
  return { modelJson, weights: new Uint8Array(saved!.weightData as ArrayBuffer), values };
}

async function codeOf(p: Promise<unknown>): Promise<[string, string]> {
  try {
    await p;
  } catch (e) {
    return [(e as ChorusError).code, (e as Error).message];
  }
  throw new Error('expected a rejection');
}

describe('validateUploadedModel', () => {
  it('returns the topology, the layout and the exact uploaded weights', async () => {
    const { modelJson, weights, values } = await savedModel();

    const up = await validateUploadedModel(modelJson, weights, DATA);

    expect(up.layout).toEqual([
      { name: 'h/kernel', shape: [3, 4] }, { name: 'h/bias', shape: [4] }, { name: 'out/kernel', shape: [4, 2] }, { name: 'out/bias', shape: [2] },
    ]);
    expect([...up.weights]).toEqual([...values]);
  });

  it('reorders weights listed in another order in the manifest', async () => {
    const { modelJson, weights, values } = await savedModel();
    const specs = (modelJson.weightsManifest as { weights: { name: string }[] }[])[0]!.weights;
    // out/bias (2 floats) moved first: its bytes move first too.
    const f = new Float32Array(weights.buffer.slice(0));
    const moved = new Float32Array([...f.subarray(f.length - 2), ...f.subarray(0, f.length - 2)]);
    const reordered = { ...modelJson, weightsManifest: [{ paths: ['weights.bin'], weights: [specs[3], ...specs.slice(0, 3)] }] };

    const up = await validateUploadedModel(reordered, new Uint8Array(moved.buffer), DATA);

    expect([...up.weights]).toEqual([...values]);
  });

  it.each([
    ['not a layers model', (m: Record<string, unknown>) => ({ ...m, format: 'graph-model' }), (w: Uint8Array) => w, 'INVALID_CONFIG', 'format must be "layers-model"'],
    ['missing weights', (m: Record<string, unknown>) => m, () => new Uint8Array(0), 'INVALID_CONFIG', 'weights.bin: missing or empty'],
    ['too few bytes', (m: Record<string, unknown>) => m, (w: Uint8Array) => w.subarray(0, w.length - 4), 'SHAPE_MISMATCH', 'has 100 bytes, the weights manifest needs 104'],
    [
      'a wrong shape',
      (m: Record<string, unknown>) => {
        const specs = structuredClone((m.weightsManifest as { weights: { shape: number[] }[] }[])[0]!.weights);
        specs[1]!.shape = [2];
        specs[3]!.shape = [4];
        return { ...m, weightsManifest: [{ paths: ['weights.bin'], weights: specs }] };
      },
      (w: Uint8Array) => w,
      'SHAPE_MISMATCH',
      'weight "h/bias" has shape [2] in the manifest, the model needs [4]',
    ],
    ['a NaN weight', (m: Record<string, unknown>) => m, (w: Uint8Array) => {
      const f = new Float32Array(w.buffer.slice(0));
      f[5] = Number.NaN;
      return new Uint8Array(f.buffer);
    }, 'NON_FINITE', 'value 5 is NaN'],
  ])('refuses %s', async (_what, editJson, editWeights, code, message) => {
    const { modelJson, weights } = await savedModel();

    const [gotCode, gotMessage] = await codeOf(validateUploadedModel(editJson(modelJson), editWeights(weights), DATA));

    expect(gotCode).toBe(code);
    expect(gotMessage).toContain(message);
  });

  it('refuses an output that is not softmax or does not match numClasses or the input shape', async () => {
    const linear = await savedModel('linear');
    const good = await savedModel();

    expect(await codeOf(validateUploadedModel(linear.modelJson, linear.weights, DATA))).toEqual(['INVALID_CONFIG', expect.stringContaining('must end in softmax')]);
    expect(await codeOf(validateUploadedModel(good.modelJson, good.weights, { ...DATA, numClasses: 3 }))).toEqual(['SHAPE_MISMATCH', 'model: its output has 2 units, data.numClasses is 3']);
    expect(await codeOf(validateUploadedModel(good.modelJson, good.weights, { ...DATA, inputShape: [5] }))).toEqual(['SHAPE_MISMATCH', 'model: its input shape is [3], data.inputShape is [5]']);
  });

  it('checks the topology and the manifest size before building: a huge layer or manifest is refused, with the limit as an option', async () => {
    const { modelJson, weights } = await savedModel();
    const huge = structuredClone(modelJson) as { modelTopology: { config: { layers: { config: { units: number } }[] } } };
    huge.modelTopology.config.layers[0]!.config.units = 1e9;

    expect(await codeOf(validateUploadedModel(huge, weights, DATA))).toEqual(['PAYLOAD_TOO_LARGE', 'model topology: layer "h" (Dense) alone holds 4,000,000,000 parameters; the limit is 6,000,000']);
    expect(await codeOf(validateUploadedModel(modelJson, weights, DATA, { maxParameters: 25 }))).toEqual(['PAYLOAD_TOO_LARGE', 'model topology: the model holds 26 parameters; the limit is 25']);
    const lying = { ...modelJson, weightsManifest: [{ paths: ['weights.bin'], weights: [{ name: 'h/kernel', shape: [1e5, 1e5], dtype: 'float32' }] }] };
    expect(await codeOf(validateUploadedModel(lying, weights, DATA))).toEqual(['PAYLOAD_TOO_LARGE', 'model.json: the weights manifest lists 10,000,000,000 parameters; the limit is 6,000,000']);
  });
});
