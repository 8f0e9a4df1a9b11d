/**
 * What a layer's config says about its size, without building it: the parameters it will hold and the
 * shape it outputs, for every TensorFlow.js layer class an uploaded model may use. The keys of
 * LAYER_ESTIMATES are the allow-list of layer classes (a test checks each is one tfjs can
 * deserialize); a layer class not listed is refused before tfjs sees the topology.
 */

/** A tensor shape without its batch dimension; null is a dimension the config leaves open. */
export type Shape = (number | null)[];

export interface LayerEstimate {
  /** Parameters the layer holds (counting an unknown input width as 1 when `exact` is false). */
  params: number;
  /** Shape of the layer's first output; undefined when it cannot be inferred cheaply. */
  output: Shape | undefined;
  /** False when the input width the weights depend on is unknown: the layer's size is then unknown too. */
  exact: boolean;
}

/** Inputs of one call of the layer (one node), each shape undefined when unknown. */
export type EstimateLayer = (config: Record<string, unknown>, inputs: (Shape | undefined)[]) => LayerEstimate;

/** A config value that is absurd or malformed; the caller names the layer. */
export class LayerConfigIssue extends Error {}

/** Largest dimension or config count accepted anywhere (2^31 - 1: what tfjs indexes with int32). */
const MAX_DIM = 2 ** 31 - 1;

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function posInt(config: Record<string, unknown>, key: string, fallback?: number): number {
  const v = config[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_DIM) {
    throw new LayerConfigIssue(`${key} must be a whole number from 1 to ${MAX_DIM}, got ${JSON.stringify(v ?? null)}`);
  }
  return v;
}

/** An int or a list of `rank` ints (kernel_size, strides, pool_size, ...). */
function tuple(config: Record<string, unknown>, key: string, rank: number, fallback?: number | number[]): number[] {
  const v = config[key] ?? fallback;
  const list = typeof v === 'number' ? new Array<unknown>(rank).fill(v) : v;
  if (!Array.isArray(list) || list.length !== rank || !list.every((d) => Number.isInteger(d) && (d as number) >= 1 && (d as number) <= MAX_DIM)) {
    throw new LayerConfigIssue(`${key} must be a whole number or a list of ${rank} whole numbers from 1 to ${MAX_DIM}, got ${JSON.stringify(v ?? null)}`);
  }
  return list as number[];
}

const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);
const bias = (config: Record<string, unknown>, n: number): number => (config.use_bias === false ? 0 : n);
const known = (d: number | null | undefined): d is number => typeof d === 'number';

/** Shape of an InputLayer or of a first layer's batch_input_shape, without the batch dimension. */
export function batchInputShape(config: Record<string, unknown>): Shape | undefined {
  const v = config.batch_input_shape ?? config.batch_shape;
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length < 2 || !v.every((d) => d === null || (Number.isInteger(d) && d >= 1 && d <= MAX_DIM))) {
    throw new LayerConfigIssue(`batch_input_shape must be a list of whole numbers (or null), batch first, got ${JSON.stringify(v)}`);
  }
  return v.slice(1) as Shape;
}

/** Channels-last unless data_format says otherwise: [channelAxis, spatial axes]. */
function channelAxis(config: Record<string, unknown>, input: Shape): number {
  return config.data_format === 'channels_first' ? 0 : input.length - 1;
}

function spatialOut(n: number | null, k: number, s: number, d: number, padding: unknown, transpose: boolean): number | null {
  if (!known(n)) return null;
  const span = (k - 1) * d + 1;
  if (transpose) return padding === 'same' ? n * s : n * s + Math.max(span - s, 0);
  // As tfjs-layers' convOutputLength, which sizes Conv1D's 'causal' like 'valid'.
  const out = padding === 'same' ? Math.ceil(n / s) : Math.floor((n - span) / s) + 1;
  if (out < 1) throw new LayerConfigIssue(`its window (${span}) is larger than its input (${n})`);
  return out;
}

/** Replaces the spatial dimensions and the channel count of a channels-last or -first shape. */
function convOutput(config: Record<string, unknown>, input: Shape, rank: number, k: number[], s: number[], d: number[], channels: number, transpose = false): Shape | undefined {
  if (input.length !== rank + 1) return undefined;
  const c = channelAxis(config, input);
  const spatial = input.filter((_, i) => i !== c).map((n, i) => spatialOut(n, k[i]!, s[i]!, d[i]!, config.padding, transpose));
  return c === 0 ? [channels, ...spatial] : [...spatial, channels];
}

function conv(rank: number, kind: 'plain' | 'transpose' | 'separable' | 'depthwise'): EstimateLayer {
  return (config, [input]) => {
    const k = tuple(config, 'kernel_size', rank);
    const s = tuple(config, 'strides', rank, 1);
    const d = tuple(config, 'dilation_rate', rank, 1);
    const inChannels = input ? input[channelAxis(config, input)] : undefined;
    const c = known(inChannels) ? inChannels : 1;
    const exact = known(inChannels);
    if (kind === 'depthwise') {
      const m = posInt(config, 'depth_multiplier', 1);
      return { params: product(k) * c * m + bias(config, c * m), output: input && exact ? convOutput(config, input, rank, k, s, d, c * m) : undefined, exact };
    }
    const filters = posInt(config, 'filters');
    const output = input ? convOutput(config, input, rank, k, s, d, filters, kind === 'transpose') : undefined;
    if (kind === 'separable') {
      const m = posInt(config, 'depth_multiplier', 1);
      return { params: product(k) * c * m + c * m * filters + bias(config, filters), output, exact };
    }
    return { params: product(k) * c * filters + bias(config, filters), output, exact };
  };
}

function pooling(rank: number): EstimateLayer {
  return (config, [input]) => {
    const pool = tuple(config, 'pool_size', rank, 2);
    const s = tuple(config, 'strides', rank, pool);
    if (!input || input.length !== rank + 1) return { params: 0, output: undefined, exact: true };
    const c = channelAxis(config, input);
    const spatial = input.filter((_, i) => i !== c).map((n, i) => spatialOut(n, pool[i]!, s[i]!, 1, config.padding, false));
    return { params: 0, output: c === 0 ? [input[0]!, ...spatial] : [...spatial, input[c]!], exact: true };
  };
}

const globalPooling: EstimateLayer = (config, [input]) => ({ params: 0, output: input ? [input[channelAxis(config, input)]!] : undefined, exact: true });

/** [[before, after], ...] per spatial axis from an int, a list of ints, or a list of pairs (ZeroPadding2D, Cropping2D). */
function pairs(config: Record<string, unknown>, key: string, fallback: number): [number, number][] {
  const v = config[key] ?? fallback;
  const ok = (d: unknown): d is number => Number.isInteger(d) && (d as number) >= 0 && (d as number) <= MAX_DIM;
  if (ok(v)) return [[v, v], [v, v]];
  if (Array.isArray(v) && v.length === 2 && v.every(ok)) return v.map((d) => [d, d]) as [number, number][];
  if (Array.isArray(v) && v.length === 2 && v.every((p) => Array.isArray(p) && p.length === 2 && p.every(ok))) return v as [number, number][];
  throw new LayerConfigIssue(`${key} must be a whole number, two of them, or two pairs, got ${JSON.stringify(v)}`);
}

/** Changes the two spatial dimensions of a 2D image shape (channels last or first). */
function resize2d(config: Record<string, unknown>, input: Shape | undefined, change: (n: number, axis: number) => number): Shape | undefined {
  if (!input || input.length !== 3) return undefined;
  const first = config.data_format === 'channels_first';
  const spatial = (first ? input.slice(1) : input.slice(0, 2)).map((n, i) => {
    if (!known(n)) return null;
    const out = change(n, i);
    if (out < 1) throw new LayerConfigIssue(`it leaves its input (${n}) with ${out} rows or columns`);
    return out;
  });
  return first ? [input[0]!, ...spatial] : [...spatial, input[2]!];
}

const identity: EstimateLayer = (_config, [input]) => ({ params: 0, output: input, exact: true });

const dense: EstimateLayer = (config, [input]) => {
  const units = posInt(config, 'units');
  const width = input?.at(-1);
  return { params: (known(width) ? width : 1) * units + bias(config, units), output: input ? [...input.slice(0, -1), units] : undefined, exact: known(width) };
};

function recurrent(gates: number): EstimateLayer {
  return (config, [input]) => {
    const units = posInt(config, 'units');
    const width = input?.at(-1);
    const biases = config.use_bias === false ? 0 : gates * units * (config.reset_after === true ? 2 : 1);
    const output = config.return_sequences === true ? (input && input.length === 2 ? [input[0]!, units] : undefined) : [units];
    return { params: gates * units * ((known(width) ? width : 1) + units) + biases, output, exact: known(width) };
  };
}

const normalization = (perChannel: (config: Record<string, unknown>) => number): EstimateLayer => (config, [input]) => {
  const axis = typeof config.axis === 'number' ? config.axis : Array.isArray(config.axis) && config.axis.length === 1 ? config.axis[0] : -1;
  // Axes count the batch dimension; -1 is the last.
  const c = input && typeof axis === 'number' ? input.at(axis < 0 ? axis : axis - 1) : undefined;
  return { params: perChannel(config) * (known(c) ? c : 1), output: input, exact: known(c) };
};

/** A layer wrapped by Bidirectional or TimeDistributed, estimated with the same table. */
function inner(config: Record<string, unknown>): { estimate: EstimateLayer; config: Record<string, unknown> } {
  const layer = config.layer;
  const className = isRecord(layer) ? layer.class_name : undefined;
  if (!isRecord(layer) || typeof className !== 'string' || !isRecord(layer.config)) throw new LayerConfigIssue('its "layer" must be a layer config {class_name, config}');
  const estimate = Object.hasOwn(LAYER_ESTIMATES, className) ? LAYER_ESTIMATES[className] : undefined;
  if (!estimate || className === 'InputLayer') throw new LayerConfigIssue(`it wraps a layer of class "${className}", which uploads cannot use`);
  return { estimate, config: layer.config };
}

/** Estimates by layer class name; also the allow-list of layer classes an uploaded model may use. */
export const LAYER_ESTIMATES: Readonly<Record<string, EstimateLayer>> = {
  InputLayer: (config) => ({ params: 0, output: batchInputShape(config), exact: true }),
  Dense: dense,
  Conv1D: conv(1, 'plain'),
  Conv2D: conv(2, 'plain'),
  Conv3D: conv(3, 'plain'),
  Conv2DTranspose: conv(2, 'transpose'),
  Conv3DTranspose: conv(3, 'transpose'),
  SeparableConv2D: conv(2, 'separable'),
  DepthwiseConv2D: conv(2, 'depthwise'),
  Embedding: (config, [input]) => {
    const out = posInt(config, 'output_dim');
    return { params: posInt(config, 'input_dim') * out, output: input ? [...input, out] : undefined, exact: true };
  },
  SimpleRNN: recurrent(1),
  GRU: recurrent(3),
  LSTM: recurrent(4),
  BatchNormalization: normalization((c) => 2 + (c.center === false ? 0 : 1) + (c.scale === false ? 0 : 1)),
  LayerNormalization: normalization((c) => (c.center === false ? 0 : 1) + (c.scale === false ? 0 : 1)),
  PReLU: (config, [input]) => {
    const dims = input ?? [];
    const shared = Array.isArray(config.shared_axes) ? config.shared_axes : [];
    const alpha = dims.filter((_, i) => !shared.includes(i + 1));
    return { params: product(alpha.filter(known)), output: input, exact: input !== undefined && alpha.every(known) };
  },
  Bidirectional: (config, inputs) => {
    const wrapped = inner(config);
    const one = wrapped.estimate(wrapped.config, inputs);
    const last = one.output?.at(-1);
    const mode = config.merge_mode ?? 'concat';
    const output = one.output && known(last) && mode !== null ? [...one.output.slice(0, -1), mode === 'concat' ? 2 * last : last] : undefined;
    return { params: 2 * one.params, output, exact: one.exact };
  },
  TimeDistributed: (config, [input]) => {
    const wrapped = inner(config);
    const one = wrapped.estimate(wrapped.config, [input?.slice(1)]);
    return { params: one.params, output: input && one.output ? [input[0]!, ...one.output] : undefined, exact: one.exact };
  },
  Flatten: (_config, [input]) => ({ params: 0, output: input ? [input.every(known) ? product(input as number[]) : null] : undefined, exact: true }),
  Reshape: (config, [input]) => {
    const target = config.target_shape;
    if (!Array.isArray(target) || target.length === 0 || !target.every((d) => d === -1 || (Number.isInteger(d) && d >= 1 && d <= MAX_DIM))) {
      throw new LayerConfigIssue(`target_shape must be a list of whole numbers (one may be -1), got ${JSON.stringify(target ?? null)}`);
    }
    const fixed = product(target.filter((d) => d !== -1) as number[]);
    const total = input?.every(known) ? product(input as number[]) : undefined;
    return { params: 0, output: target.map((d) => (d === -1 ? (total !== undefined ? total / fixed : null) : d)) as Shape, exact: true };
  },
  RepeatVector: (config, [input]) => ({ params: 0, output: input?.length === 1 ? [posInt(config, 'n'), input[0]!] : undefined, exact: true }),
  Concatenate: (config, inputs) => {
    const axis = typeof config.axis === 'number' ? config.axis : -1;
    const all = inputs.every((s): s is Shape => s !== undefined && s.length === inputs[0]!.length);
    if (!all || inputs.length === 0) return { params: 0, output: undefined, exact: true };
    const at = axis < 0 ? inputs[0]!.length + axis : axis - 1;
    const sizes = inputs.map((s) => s[at]);
    return { params: 0, output: inputs[0]!.map((d, i) => (i === at ? (sizes.every(known) ? sizes.reduce((a, b) => a + b, 0) : null) : d)), exact: true };
  },
  Add: identity,
  Multiply: identity,
  Average: identity,
  Maximum: identity,
  Minimum: identity,
  MaxPooling1D: pooling(1),
  MaxPooling2D: pooling(2),
  MaxPooling3D: pooling(3),
  AveragePooling1D: pooling(1),
  AveragePooling2D: pooling(2),
  AveragePooling3D: pooling(3),
  GlobalAveragePooling1D: globalPooling,
  GlobalAveragePooling2D: globalPooling,
  GlobalMaxPooling1D: globalPooling,
  GlobalMaxPooling2D: globalPooling,
  Activation: identity,
  ReLU: identity,
  LeakyReLU: identity,
  ELU: identity,
  ThresholdedReLU: identity,
  Softmax: identity,
  Dropout: identity,
  SpatialDropout1D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
  Masking: identity,
  Rescaling: identity,
  ZeroPadding2D: (config, [input]) => {
    const pad = pairs(config, 'padding', 1);
    return { params: 0, output: resize2d(config, input, (n, i) => n + pad[i]![0] + pad[i]![1]), exact: true };
  },
  Cropping2D: (config, [input]) => {
    const crop = pairs(config, 'cropping', 0);
    return { params: 0, output: resize2d(config, input, (n, i) => n - crop[i]![0] - crop[i]![1]), exact: true };
  },
  UpSampling2D: (config, [input]) => {
    const size = tuple(config, 'size', 2, 2);
    return { params: 0, output: resize2d(config, input, (n, i) => n * size[i]!), exact: true };
  },
  CenterCrop: (config, [input]) => {
    const [h, w] = [posInt(config, 'height'), posInt(config, 'width')];
    return { params: 0, output: input?.length === 3 ? [h, w, input[2]!] : undefined, exact: true };
  },
  Resizing: (config, [input]) => {
    const [h, w] = [posInt(config, 'height'), posInt(config, 'width')];
    return { params: 0, output: input?.length === 3 ? [h, w, input[2]!] : undefined, exact: true };
  },
  Permute: (config, [input]) => {
    const dims = config.dims;
    if (!Array.isArray(dims) || !dims.every((d) => Number.isInteger(d) && d >= 1 && d <= dims.length)) {
      throw new LayerConfigIssue(`dims must list the input's axes from 1, got ${JSON.stringify(dims ?? null)}`);
    }
    return { params: 0, output: input?.length === dims.length ? (dims as number[]).map((d) => input[d - 1]!) : undefined, exact: true };
  },
  Dot: (config, [a, b]) => {
    const axes = typeof config.axes === 'number' ? [config.axes, config.axes] : config.axes;
    if (!a || !b || !Array.isArray(axes) || axes.length !== 2 || !axes.every((x) => Number.isInteger(x))) return { params: 0, output: undefined, exact: true };
    // Axes count the batch dimension; negative ones count from the end.
    const drop = (s: Shape, axis: number) => s.filter((_, i) => i !== (axis < 0 ? s.length + axis : axis - 1));
    const out = [...drop(a, axes[0] as number), ...drop(b, axes[1] as number)];
    return { params: 0, output: out.length === 0 ? [1] : out, exact: true };
  },
};
