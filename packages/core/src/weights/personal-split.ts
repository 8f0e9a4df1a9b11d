import { ChorusError } from '../errors/chorus-error.js';
import { layoutSize, tensorSize, type FlatWeights, type TensorSpec } from './layout.js';

/**
 * What a device keeps of a personalized task: its personal layers (FedPer, FedRep) or its whole
 * personal model (Ditto), and for Ditto whether it currently uses the shared model instead.
 */
export interface PersonalWeights extends FlatWeights {
  /** Ditto with chooseByValidation: the shared model scored at least as well on this device's validation examples. */
  readonly useShared?: boolean;
}

/** The layer a tensor belongs to: the part of its name before the first '/' ("output/kernel" → "output"). */
export function layerOfTensor(name: string): string {
  const slash = name.indexOf('/');
  return slash < 0 ? name : name.slice(0, slash);
}

/** The output head: the layer of the last tensor in the layout (the last layer with weights). */
export function defaultPersonalLayers(layout: readonly TensorSpec[]): string[] {
  const last = layout.at(-1);
  if (!last) throw new ChorusError('INVALID_CONFIG', 'personalization: the model has no weights');
  return [layerOfTensor(last.name)];
}

export interface PersonalSplit {
  /** Tensors that travel (in model order). */
  readonly shared: readonly TensorSpec[];
  /** Tensors that stay on the device (in model order). */
  readonly personal: readonly TensorSpec[];
}

/**
 * Cuts a model's layout into shared and personal tensors by layer name. Every named layer must
 * exist and at least one layer must stay shared; the error names the option.
 */
export function splitLayout(layout: readonly TensorSpec[], personalLayers: readonly string[], what = 'personalization.personalLayers'): PersonalSplit {
  const layers = new Set(layout.map((t) => layerOfTensor(t.name)));
  const unknown = personalLayers.filter((l) => !layers.has(l));
  if (unknown.length > 0) {
    throw new ChorusError('INVALID_CONFIG', `${what}: no layer named ${unknown.map((u) => `"${u}"`).join(', ')} (the model's layers: ${[...layers].join(', ')})`);
  }
  const personalSet = new Set(personalLayers);
  const shared = layout.filter((t) => !personalSet.has(layerOfTensor(t.name)));
  const personal = layout.filter((t) => personalSet.has(layerOfTensor(t.name)));
  if (shared.length === 0) throw new ChorusError('INVALID_CONFIG', `${what}: every layer would stay on the devices; at least one must be shared`);
  return { shared, personal };
}

/** The values of the tensors `part` (a subset of `layout`, same order) out of a flat vector over `layout`. */
export function gatherTensors(layout: readonly TensorSpec[], values: Float32Array, part: readonly TensorSpec[]): Float32Array {
  if (values.length !== layoutSize(layout)) throw new ChorusError('SHAPE_MISMATCH', `gatherTensors: ${values.length} values for a layout of ${layoutSize(layout)}`);
  const wanted = new Set(part.map((t) => t.name));
  const out = new Float32Array(layoutSize(part));
  let from = 0;
  let to = 0;
  for (const t of layout) {
    const n = tensorSize(t.shape);
    if (wanted.has(t.name)) {
      out.set(values.subarray(from, from + n), to);
      to += n;
    }
    from += n;
  }
  if (to !== out.length) throw new ChorusError('SHAPE_MISMATCH', 'gatherTensors: some wanted tensors are not in the layout');
  return out;
}

/**
 * One full weight vector over `layout` from its parts: each tensor is taken, by name, from whichever
 * part holds it, and its shape must match. Used to put a downloaded shared model and the device's
 * personal layers back together before training.
 */
export function mergeTensors(layout: readonly TensorSpec[], parts: readonly FlatWeights[]): Float32Array {
  const index = new Map<string, { spec: TensorSpec; values: Float32Array }>();
  for (const part of parts) {
    let offset = 0;
    for (const spec of part.layout) {
      const n = tensorSize(spec.shape);
      index.set(spec.name, { spec, values: part.values.subarray(offset, offset + n) });
      offset += n;
    }
  }
  const out = new Float32Array(layoutSize(layout));
  let offset = 0;
  for (const spec of layout) {
    const found = index.get(spec.name);
    if (!found) throw new ChorusError('SHAPE_MISMATCH', `mergeTensors: no values for tensor "${spec.name}"`);
    if (found.spec.shape.join('x') !== spec.shape.join('x')) {
      throw new ChorusError('SHAPE_MISMATCH', `mergeTensors: tensor "${spec.name}" has shape [${found.spec.shape.join(', ')}]; the model wants [${spec.shape.join(', ')}]`);
    }
    out.set(found.values, offset);
    offset += found.values.length;
  }
  return out;
}
