import { ChorusError } from '@chorus/core';
import { LAYER_ESTIMATES, LayerConfigIssue, batchInputShape, type LayerEstimate, type Shape } from './layer-estimates.js';

/**
 * Bounds on an uploaded topology, checked before tfjs sees it: tfjs follows a functional model's
 * inbound_nodes until every node is built, so a cycle or a dangling name loops forever, and it
 * allocates every layer's weights while building, so one absurd Dense blocks the thread for minutes.
 */
export interface TopologyLimits {
  /**
   * Most parameters the model may hold, computed from the layer configs with their input shapes
   * propagated from the model's input. @default 6_000_000 (what the upload route's 32 MiB body
   * holds as base64 float32)
   */
  readonly maxParameters: number;
  /** Most layers. @default 1_000 */
  readonly maxLayers: number;
  /** Deepest nesting of objects and lists in the topology JSON. @default 64 */
  readonly maxDepth: number;
  /** Most inbound references (every layer call's inputs, all layers together). @default 10_000 */
  readonly maxInboundRefs: number;
}

export const DEFAULT_TOPOLOGY_LIMITS: TopologyLimits = { maxParameters: 6_000_000, maxLayers: 1_000, maxDepth: 64, maxInboundRefs: 10_000 };

export interface TopologySummary {
  readonly className: 'Sequential' | 'Model' | 'Functional';
  readonly layers: number;
  /** Parameters the model will hold once built. */
  readonly parameters: number;
}

interface NodeRef {
  readonly layer: number;
  readonly node: number;
  readonly tensor: number;
}

interface LayerSpec {
  readonly name: string;
  readonly className: string;
  readonly config: Record<string, unknown>;
  /** One entry per call of the layer (node), each the list of its inputs. */
  readonly nodes: NodeRef[][];
}

const MAX_TENSOR_INDEX = 8;

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const invalid = (message: string) => new ChorusError('INVALID_CONFIG', `model topology: ${message}`);
const count = (n: number) => n.toLocaleString('en-US');

/** Iterative (a deep document must not overflow the stack that measures it). */
function checkDepth(value: unknown, maxDepth: number): void {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > maxDepth) throw invalid(`the JSON is nested deeper than ${maxDepth} levels`);
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
}

function layerHeader(raw: unknown, index: number): { name: string; className: string; config: Record<string, unknown> } {
  if (!isRecord(raw) || typeof raw.class_name !== 'string' || !isRecord(raw.config)) throw invalid(`layer ${index} must be {class_name, config}`);
  const name = typeof raw.name === 'string' ? raw.name : typeof raw.config.name === 'string' ? raw.config.name : `#${index}`;
  const className = raw.class_name;
  if (!Object.hasOwn(LAYER_ESTIMATES, className)) {
    const nested = className === 'Sequential' || className === 'Model' || className === 'Functional';
    throw invalid(`layer "${name}" has class "${className}", ${nested ? 'a nested model; flatten it into one model' : 'which uploaded models cannot use'}`);
  }
  return { name, className, config: raw.config };
}

/**
 * A layer whose input width is unknown here is refused, not guessed: tfjs itself needs that width to
 * build the layer's weights, so it is only unknown to this check, and the size it would allocate
 * is exactly what cannot be bounded then.
 */
function estimate(layer: LayerSpec | { name: string; className: string; config: Record<string, unknown> }, inputs: (Shape | undefined)[]): LayerEstimate {
  let e: LayerEstimate;
  try {
    e = LAYER_ESTIMATES[layer.className]!(layer.config, inputs);
  } catch (err) {
    if (err instanceof LayerConfigIssue) throw invalid(`layer "${layer.name}" (${layer.className}): ${err.message}`);
    throw err;
  }
  if (!e.exact) {
    throw invalid(`layer "${layer.name}" (${layer.className}): the width of its input cannot be inferred from the topology, so its size cannot be checked before it is built; declare the model's input shape (batch_input_shape)`);
  }
  return e;
}

function sizeCheck(perLayer: { name: string; className: string; estimate: LayerEstimate }[], limits: TopologyLimits): { parameters: number } {
  for (const { name, className, estimate: e } of perLayer) {
    if (e.params > limits.maxParameters) {
      throw new ChorusError('PAYLOAD_TOO_LARGE', `model topology: layer "${name}" (${className}) alone holds ${count(e.params)} parameters; the limit is ${count(limits.maxParameters)}`);
    }
  }
  const parameters = perLayer.reduce((n, l) => n + l.estimate.params, 0);
  if (parameters > limits.maxParameters) {
    throw new ChorusError('PAYLOAD_TOO_LARGE', `model topology: the model holds ${count(parameters)} parameters; the limit is ${count(limits.maxParameters)}`);
  }
  return { parameters };
}

function checkSequential(config: unknown, limits: TopologyLimits): TopologySummary {
  const rawLayers = Array.isArray(config) ? config : isRecord(config) ? config.layers : undefined;
  if (!Array.isArray(rawLayers) || rawLayers.length === 0) throw invalid('a Sequential model needs a non-empty "layers" list');
  if (rawLayers.length > limits.maxLayers) throw invalid(`the model has ${count(rawLayers.length)} layers; the limit is ${count(limits.maxLayers)}`);
  const perLayer: { name: string; className: string; estimate: LayerEstimate }[] = [];
  let shape: Shape | undefined;
  rawLayers.forEach((raw, i) => {
    const layer = layerHeader(raw, i);
    if (i === 0 && layer.className !== 'InputLayer') {
      try {
        shape = batchInputShape(layer.config);
      } catch (err) {
        if (err instanceof LayerConfigIssue) throw invalid(`layer "${layer.name}" (${layer.className}): ${err.message}`);
        throw err;
      }
    }
    const e = estimate(layer, [shape]);
    perLayer.push({ ...layer, estimate: e });
    shape = e.output;
  });
  return { className: 'Sequential', layers: rawLayers.length, ...sizeCheck(perLayer, limits) };
}

function parseRef(raw: unknown, byName: ReadonlyMap<string, number>, layers: readonly { nodeCount: number }[], where: string): NodeRef {
  if (!Array.isArray(raw) || typeof raw[0] !== 'string' || !Number.isInteger(raw[1]) || !Number.isInteger(raw[2])) {
    throw invalid(`${where}: expected [layer name, node index, tensor index], got ${JSON.stringify(raw)?.slice(0, 80)}`);
  }
  const [name, node, tensor] = raw as [string, number, number];
  const layer = byName.get(name);
  if (layer === undefined) throw invalid(`${where} names layer "${name}", which the model does not have`);
  if (node < 0 || node >= layers[layer]!.nodeCount) throw invalid(`${where} names node ${node} of layer "${name}", which has ${layers[layer]!.nodeCount} node(s)`);
  if (tensor < 0 || tensor >= MAX_TENSOR_INDEX) throw invalid(`${where} names output ${tensor} of layer "${name}"; tensor indices go from 0 to ${MAX_TENSOR_INDEX - 1}`);
  return { layer, node, tensor };
}

function parseFunctionalLayers(config: Record<string, unknown>, limits: TopologyLimits): { layers: LayerSpec[]; byName: Map<string, number> } {
  const rawLayers = config.layers;
  if (!Array.isArray(rawLayers) || rawLayers.length === 0) throw invalid('a functional model needs a non-empty "layers" list');
  if (rawLayers.length > limits.maxLayers) throw invalid(`the model has ${count(rawLayers.length)} layers; the limit is ${count(limits.maxLayers)}`);
  const headers = rawLayers.map((raw, i) => {
    const header = layerHeader(raw, i);
    const inbound = (raw as Record<string, unknown>).inbound_nodes ?? [];
    if (!Array.isArray(inbound) || !inbound.every(Array.isArray)) throw invalid(`layer "${header.name}": inbound_nodes must be a list of lists of [layer name, node index, tensor index]`);
    if (header.className === 'InputLayer' && inbound.length > 0) throw invalid(`layer "${header.name}" (InputLayer) cannot have inbound_nodes`);
    if (header.className !== 'InputLayer' && inbound.length === 0) throw invalid(`layer "${header.name}" (${header.className}) is never called: its inbound_nodes are empty`);
    return { ...header, inbound: inbound as unknown[][], nodeCount: header.className === 'InputLayer' ? 1 : inbound.length };
  });
  const byName = new Map<string, number>();
  headers.forEach((h, i) => {
    if (byName.has(h.name)) throw invalid(`two layers are named "${h.name}"`);
    byName.set(h.name, i);
  });
  let refs = 0;
  const layers = headers.map((h) => ({
    name: h.name,
    className: h.className,
    config: h.config,
    nodes: h.inbound.map((node, k) => {
      refs += node.length;
      if (refs > limits.maxInboundRefs) throw invalid(`more than ${count(limits.maxInboundRefs)} inbound references`);
      if (node.length === 0) throw invalid(`layer "${h.name}": inbound node ${k} has no inputs`);
      return node.map((ref) => parseRef(ref, byName, headers, `layer "${h.name}" inbound node ${k}`));
    }),
  }));
  return { layers, byName };
}

/**
 * Kahn's algorithm over layer calls (nodes). Node k of a layer also waits for node k - 1: tfjs builds
 * a layer's nodes in order, so that order must be acyclic too.
 */
function topologicalOrder(layers: readonly LayerSpec[]): NodeRef[] {
  const base: number[] = [];
  let total = 0;
  for (const l of layers) {
    base.push(total);
    total += l.className === 'InputLayer' ? 1 : l.nodes.length;
  }
  const id = (r: { layer: number; node: number }) => base[r.layer]! + r.node;
  const refOf: NodeRef[] = new Array<NodeRef>(total);
  const deps: number[][] = Array.from({ length: total }, () => []);
  layers.forEach((l, layer) => {
    if (l.className === 'InputLayer') refOf[base[layer]!] = { layer, node: 0, tensor: 0 };
    l.nodes.forEach((inputs, node) => {
      refOf[id({ layer, node })] = { layer, node, tensor: 0 };
      for (const input of inputs) deps[id({ layer, node })]!.push(id(input));
      if (node > 0) deps[id({ layer, node })]!.push(id({ layer, node: node - 1 }));
    });
  });
  const waiting = deps.map((d) => d.length);
  const dependents: number[][] = Array.from({ length: total }, () => []);
  deps.forEach((d, n) => d.forEach((m) => dependents[m]!.push(n)));
  const ready = waiting.flatMap((w, n) => (w === 0 ? [n] : []));
  const order: NodeRef[] = [];
  while (ready.length > 0) {
    const n = ready.pop()!;
    order.push(refOf[n]!);
    for (const m of dependents[n]!) if (--waiting[m]! === 0) ready.push(m);
  }
  if (order.length < total) throw invalid(`the layers form a cycle (${describeCycle(waiting, deps, refOf, layers)}); a model's graph must be acyclic`);
  return order;
}

/** Walks back through unbuilt nodes from any unbuilt node until one repeats: that loop is a cycle. */
function describeCycle(waiting: readonly number[], deps: readonly number[][], refOf: readonly NodeRef[], layers: readonly LayerSpec[]): string {
  const seenAt = new Map<number, number>();
  const path: number[] = [];
  let n = waiting.findIndex((w) => w > 0);
  while (!seenAt.has(n)) {
    seenAt.set(n, path.length);
    path.push(n);
    n = deps[n]!.find((m) => waiting[m]! > 0)!;
  }
  const cycle = [...path.slice(seenAt.get(n)!), n].reverse();
  return cycle.map((m) => layers[refOf[m]!.layer]!.name).join(' → ');
}

function checkFunctional(className: 'Model' | 'Functional', config: unknown, limits: TopologyLimits): TopologySummary {
  if (!isRecord(config)) throw invalid(`a ${className} needs a config object`);
  const { layers, byName } = parseFunctionalLayers(config, limits);
  const order = topologicalOrder(layers);
  const headers = layers.map((l) => ({ nodeCount: l.className === 'InputLayer' ? 1 : l.nodes.length }));
  const endpoints = (key: 'input_layers' | 'output_layers') => {
    const list = config[key];
    if (!Array.isArray(list) || list.length === 0) throw invalid(`${key} must be a non-empty list of [layer name, node index, tensor index]`);
    return list.map((raw, i) => parseRef(raw, byName, headers, `${key}[${i}]`));
  };
  const inputs = endpoints('input_layers');
  for (const r of inputs) if (layers[r.layer]!.className !== 'InputLayer') throw invalid(`input_layers names "${layers[r.layer]!.name}", which is a ${layers[r.layer]!.className}, not an InputLayer`);
  const outputs = endpoints('output_layers');
  // Every input layer an output depends on must be a declared input, else the output is unreachable.
  const declared = new Set(inputs.map((r) => r.layer));
  for (const out of outputs) {
    const stack = [{ layer: out.layer, node: out.node }];
    const seen = new Set<string>();
    while (stack.length > 0) {
      const { layer, node } = stack.pop()!;
      const key = `${layer}:${node}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const spec = layers[layer]!;
      if (spec.className === 'InputLayer') {
        if (!declared.has(layer)) throw invalid(`output "${layers[out.layer]!.name}" depends on input layer "${spec.name}", which input_layers does not list`);
        continue;
      }
      for (const input of spec.nodes[node]!) stack.push(input);
    }
  }
  const shapes = new Map<string, Shape | undefined>();
  const estimates = new Map<number, LayerEstimate>();
  for (const { layer, node } of order) {
    const spec = layers[layer]!;
    const inputShapes = spec.className === 'InputLayer' ? [] : spec.nodes[node]!.map((r) => (r.tensor === 0 ? shapes.get(`${r.layer}:${r.node}`) : undefined));
    const e = estimate(spec, inputShapes);
    // A shared layer holds its weights once: they are built at its first call.
    if (node === 0) estimates.set(layer, e);
    shapes.set(`${layer}:${node}`, e.output);
  }
  const perLayer = layers.map((l, i) => ({ name: l.name, className: l.className, estimate: estimates.get(i)! }));
  return { className, layers: layers.length, ...sizeCheck(perLayer, limits) };
}

/**
 * Checks a Keras/TensorFlow.js Layers topology (`modelTopology` of a model.json, or its
 * `model_config`) as data, before anything is built: known layer classes, a functional graph whose
 * references exist and which is acyclic with its outputs reachable from its declared inputs, and a
 * size under the limits. Throws INVALID_CONFIG naming the layer and what is wrong, or
 * PAYLOAD_TOO_LARGE when the model would hold more parameters than allowed.
 */
export function checkTopology(topology: unknown, limits: Partial<TopologyLimits> = {}): TopologySummary {
  const bounds = { ...DEFAULT_TOPOLOGY_LIMITS, ...limits };
  if (!isRecord(topology)) throw invalid('expected a JSON object');
  checkDepth(topology, bounds.maxDepth);
  // Converted Keras files nest the model config under model_config; tfjs's own saves do not.
  const model = isRecord(topology.model_config) ? topology.model_config : topology;
  switch (model.class_name) {
    case 'Sequential':
      return checkSequential(model.config, bounds);
    case 'Model':
    case 'Functional':
      return checkFunctional(model.class_name, model.config, bounds);
    default:
      throw invalid(`class_name must be "Sequential", "Model" or "Functional", got ${JSON.stringify(model.class_name ?? null)}`);
  }
}
