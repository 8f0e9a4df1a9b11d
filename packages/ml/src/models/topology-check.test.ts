import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { ChorusError } from '@chorus/core';
import { LAYER_ESTIMATES } from './layer-estimates.js';
import { checkTopology } from './topology-check.js';

type Json = Record<string, any>;

function topologyOf(model: tf.LayersModel): Json {
  const json = model.toJSON(null, false) as Json;
  model.dispose();
  return json;
}

/** input(4) → a(Dense 5) → b(Dense 3, softmax), as tfjs saves a functional model. */
function functional(): Json {
  const input = tf.input({ shape: [4], name: 'x' });
  const a = tf.layers.dense({ units: 5, name: 'a' }).apply(input) as tf.SymbolicTensor;
  const b = tf.layers.dense({ units: 3, name: 'b', activation: 'softmax' }).apply(a) as tf.SymbolicTensor;
  return topologyOf(tf.model({ inputs: input, outputs: b }));
}

function layerNamed(topology: Json, name: string): Json {
  return topology.config.layers.find((l: Json) => l.name === name);
}

function refusal(topology: unknown, limits = {}): [string, string] {
  try {
    checkTopology(topology, limits);
  } catch (e) {
    expect(e).toBeInstanceOf(ChorusError);
    return [(e as ChorusError).code, (e as Error).message];
  }
  throw new Error('expected a refusal');
}

describe('checkTopology', () => {
  it.each([
    ['a dense sequential model', () => tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 5 }), tf.layers.dense({ units: 3, activation: 'softmax' })] })],
    ['a small convnet', () => tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 5, strides: 2, padding: 'same' }),
        tf.layers.batchNormalization(),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2 }),
        tf.layers.separableConv2d({ filters: 6, kernelSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dropout({ rate: 0.1 }),
        tf.layers.dense({ units: 10, activation: 'softmax' }),
      ],
    })],
    ['a text model', () => tf.sequential({
      layers: [
        tf.layers.embedding({ inputDim: 100, outputDim: 8, inputLength: 12 }),
        tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 6, returnSequences: true }) as tf.RNN }),
        tf.layers.gru({ units: 4 }),
        tf.layers.layerNormalization(),
        tf.layers.dense({ units: 2, activation: 'softmax', useBias: false }),
      ],
    })],
    ['an image model that pads, crops, upsamples and permutes', () => tf.sequential({
      layers: [
        tf.layers.zeroPadding2d({ inputShape: [10, 12, 3], padding: [[1, 2], [0, 3]] }),
        tf.layers.cropping2D({ cropping: [[2, 0], [1, 1]] }),
        tf.layers.upSampling2d({ size: [2, 1] }),
        tf.layers.permute({ dims: [2, 1, 3] }),
        tf.layers.conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2 }),
        tf.layers.averagePooling2d({ poolSize: 3, padding: 'same' }),
        tf.layers.prelu(),
        tf.layers.conv2d({ filters: 5, kernelSize: [2, 3], dataFormat: 'channelsLast', dilationRate: 2 }),
        tf.layers.globalMaxPooling2d({}),
        tf.layers.repeatVector({ n: 4 }),
        tf.layers.conv1d({ filters: 3, kernelSize: 2 }),
        tf.layers.conv1d({ filters: 3, kernelSize: 2, padding: 'causal' }),
        tf.layers.timeDistributed({ layer: tf.layers.dense({ units: 6 }) }),
        tf.layers.simpleRNN({ units: 7 }),
        tf.layers.reshape({ targetShape: [7, 1] }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2, activation: 'softmax' }),
      ],
    })],
    ['a functional model with a dot product and a sum', () => {
      const a = tf.input({ shape: [6], name: 'a' });
      const b = tf.input({ shape: [6], name: 'b' });
      const dot = tf.layers.dot({ axes: 1, name: 'dot' }).apply([a, b]) as tf.SymbolicTensor;
      const wide = tf.layers.dense({ units: 6, name: 'wide' }).apply(dot) as tf.SymbolicTensor;
      const sum = tf.layers.add({ name: 'sum' }).apply([wide, a]) as tf.SymbolicTensor;
      return tf.model({ inputs: [a, b], outputs: tf.layers.dense({ units: 2, name: 'out' }).apply(sum) as tf.SymbolicTensor });
    }],
    ['a functional model with a shared layer and a concatenation', () => {
      const x = tf.input({ shape: [6], name: 'x' });
      const shared = tf.layers.dense({ units: 6, name: 'shared' });
      const once = shared.apply(x) as tf.SymbolicTensor;
      const twice = shared.apply(once) as tf.SymbolicTensor;
      const both = tf.layers.concatenate({ name: 'both' }).apply([once, twice]) as tf.SymbolicTensor;
      return tf.model({ inputs: x, outputs: tf.layers.dense({ units: 3, name: 'out' }).apply(both) as tf.SymbolicTensor });
    }],
  ])('accepts %s and counts exactly the parameters tfjs builds', (_what, build) => {
    const model = build();
    const expected = model.countParams();
    const topology = topologyOf(model);

    const summary = checkTopology(topology);

    expect(summary).toMatchObject({ parameters: expected });
  });

  it('reads a Keras file whose config is nested under model_config', () => {
    const summary = checkTopology({ model_config: functional(), keras_version: '2.15.0', backend: 'tensorflow' });

    expect(summary).toEqual({ className: 'Model', layers: 3, parameters: 4 * 5 + 5 + 5 * 3 + 3 });
  });

  it('reads a Keras Sequential model that starts with an InputLayer', () => {
    const keras = { class_name: 'Sequential', config: { name: 's', layers: [
      { class_name: 'InputLayer', config: { batch_input_shape: [null, 4], name: 'in' } },
      { class_name: 'Dense', config: { name: 'd', units: 5 } },
    ] } };

    expect(checkTopology(keras)).toEqual({ className: 'Sequential', layers: 2, parameters: 25 });
  });

  it('refuses a cycle, naming the layers on it', () => {
    const t = functional();
    // a now takes its input from b, which takes its input from a.
    layerNamed(t, 'a').inbound_nodes = [[['b', 0, 0, {}]]];

    expect(refusal(t)).toEqual(['INVALID_CONFIG', 'model topology: the layers form a cycle (a → b → a); a model\'s graph must be acyclic']);
  });

  it('refuses a layer that feeds itself', () => {
    const t = functional();
    layerNamed(t, 'b').inbound_nodes = [[['b', 0, 0, {}]]];

    expect(refusal(t)).toEqual(['INVALID_CONFIG', 'model topology: the layers form a cycle (b → b); a model\'s graph must be acyclic']);
  });

  it.each([
    ['an inbound reference to a layer that does not exist', (t: Json) => ((layerNamed(t, 'b').inbound_nodes = [[['ghost', 0, 0, {}]]]), t),
      'model topology: layer "b" inbound node 0 names layer "ghost", which the model does not have'],
    ['a node index the layer does not have', (t: Json) => ((layerNamed(t, 'b').inbound_nodes = [[['a', 3, 0, {}]]]), t),
      'model topology: layer "b" inbound node 0 names node 3 of layer "a", which has 1 node(s)'],
    ['an output layer that does not exist', (t: Json) => ((t.config.output_layers = [['nope', 0, 0]]), t),
      'model topology: output_layers[0] names layer "nope", which the model does not have'],
    ['an input that is not an InputLayer', (t: Json) => ((t.config.input_layers = [['a', 0, 0]]), t),
      'model topology: input_layers names "a", which is a Dense, not an InputLayer'],
    ['an output not reachable from the declared inputs', (t: Json) => {
      t.config.layers.push({ name: 'y', class_name: 'InputLayer', config: { batch_input_shape: [null, 4], name: 'y' }, inbound_nodes: [] });
      layerNamed(t, 'a').inbound_nodes = [[['y', 0, 0, {}]]];
      return t;
    }, 'model topology: output "b" depends on input layer "y", which input_layers does not list'],
    ['a malformed reference', (t: Json) => ((layerNamed(t, 'b').inbound_nodes = [['a']]), t),
      'model topology: layer "b" inbound node 0: expected [layer name, node index, tensor index], got "a"'],
    ['a layer class tfjs uploads cannot use', (t: Json) => ((layerNamed(t, 'a').class_name = 'Lambda'), t),
      'model topology: layer "a" has class "Lambda", which uploaded models cannot use'],
    ['a nested model', (t: Json) => ((layerNamed(t, 'a').class_name = 'Sequential'), t),
      'model topology: layer "a" has class "Sequential", a nested model; flatten it into one model'],
    ['two layers with one name', (t: Json) => ((layerNamed(t, 'b').name = 'a'), t), 'model topology: two layers are named "a"'],
    ['a config number that is not a whole number', (t: Json) => ((layerNamed(t, 'a').config.units = 2.5), t),
      'model topology: layer "a" (Dense): units must be a whole number from 1 to 2147483647, got 2.5'],
  ])('refuses %s with INVALID_CONFIG naming it', (_what, edit, message) => {
    expect(refusal(edit(functional()))).toEqual(['INVALID_CONFIG', message]);
  });

  it('refuses a huge Dense layer before anything is built, naming it', () => {
    const t = topologyOf(tf.sequential({ layers: [tf.layers.dense({ name: 'h', inputShape: [50_000], units: 5 }), tf.layers.dense({ name: 'out', units: 3 })] }));
    t.config.layers[0].config.units = 50_000;

    expect(refusal(t)).toEqual(['PAYLOAD_TOO_LARGE', 'model topology: layer "h" (Dense) alone holds 2,500,050,000 parameters; the limit is 6,000,000']);
  });

  it('refuses a weighted layer whose input width it cannot infer rather than guess its size', () => {
    const t = functional();
    t.config.layers[0].config.batch_input_shape = [null, null];
    layerNamed(t, 'a').config.units = 1e9;

    expect(refusal(t)).toEqual(['INVALID_CONFIG', 'model topology: layer "a" (Dense): the width of its input cannot be inferred from the topology, so its size cannot be checked before it is built; declare the model\'s input shape (batch_input_shape)']);
  });

  it('refuses a layer that is never called', () => {
    const t = functional();
    t.config.layers.push({ name: 'idle', class_name: 'Dense', config: { name: 'idle', units: 1e9 }, inbound_nodes: [] });

    expect(refusal(t)).toEqual(['INVALID_CONFIG', 'model topology: layer "idle" (Dense) is never called: its inbound_nodes are empty']);
  });

  it('refuses a model whose layers together exceed the limit, and takes the limit as an option', () => {
    expect(refusal(functional(), { maxParameters: 40 })).toEqual(['PAYLOAD_TOO_LARGE', 'model topology: the model holds 43 parameters; the limit is 40']);
  });

  it('refuses too many layers, too many references and too deep a document', () => {
    expect(refusal(functional(), { maxLayers: 2 })).toEqual(['INVALID_CONFIG', 'model topology: the model has 3 layers; the limit is 2']);
    expect(refusal(functional(), { maxInboundRefs: 1 })).toEqual(['INVALID_CONFIG', 'model topology: more than 1 inbound references']);
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(refusal({ class_name: 'Sequential', config: { layers: [], deep } })).toEqual(['INVALID_CONFIG', 'model topology: the JSON is nested deeper than 64 levels']);
  });

  it('allows only layer classes that tfjs can deserialize', () => {
    const registered = tf.serialization.SerializationMap.getMap().classNameMap;

    expect(Object.keys(LAYER_ESTIMATES).filter((name) => !(name in registered))).toEqual([]);
  });
});
