// '@chorus/ml/upload-check': what can be checked about an uploaded model without TensorFlow.js (so a
// server checks it on its event loop without loading tfjs there), and before anything is built.
import { ChorusError, tensorSize } from '@chorus/core';
import { DEFAULT_TOPOLOGY_LIMITS, checkTopology, type TopologyLimits } from './topology-check.js';

export { DEFAULT_TOPOLOGY_LIMITS, checkTopology, type TopologyLimits, type TopologySummary } from './topology-check.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
}

function manifestEntries(modelJson: Record<string, unknown>): ManifestEntry[] {
  const manifest = modelJson.weightsManifest;
  if (!Array.isArray(manifest)) throw new ChorusError('INVALID_CONFIG', 'model.json: weightsManifest must be a list of weight groups');
  const entries: ManifestEntry[] = [];
  for (const group of manifest) {
    if (!isRecord(group) || !Array.isArray(group.weights)) throw new ChorusError('INVALID_CONFIG', 'model.json: every weightsManifest group needs a "weights" list');
    for (const w of group.weights) {
      if (!isRecord(w) || typeof w.name !== 'string' || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isInteger(d) && d >= 0)) {
        throw new ChorusError('INVALID_CONFIG', 'model.json: every weights entry needs a name and a shape of whole numbers');
      }
      if (w.quantization !== undefined) throw new ChorusError('SHAPE_MISMATCH', `model.json: weight "${w.name}" is quantized; upload float32 weights`);
      entries.push({ name: w.name, shape: w.shape as number[], dtype: typeof w.dtype === 'string' ? w.dtype : 'float32' });
    }
  }
  return entries;
}

export interface CheckedModelJson {
  /** The model config tfjs builds (a Keras file's model_config unwrapped). */
  modelConfig: Record<string, unknown>;
  /** The manifest's weights, each with its byte offset in weights.bin. */
  byName: Map<string, { entry: ManifestEntry; offset: number }>;
  /** Parameters the manifest lists (= weights.bin bytes / 4). */
  parameters: number;
}

/**
 * Everything about an upload that can be checked without building the model, cheap and bounded, so
 * it can run where a stall would hurt: the format, the topology as a graph (checkTopology), and the
 * manifest against weights.bin's length and the parameter limit. Throws like validateUploadedModel.
 */
export function checkUploadedModelJson(modelJson: unknown, weightByteLength: number, limits: Partial<TopologyLimits> = {}): CheckedModelJson {
  if (!isRecord(modelJson)) throw new ChorusError('INVALID_CONFIG', 'model.json: expected a JSON object');
  if (modelJson.format !== 'layers-model') {
    throw new ChorusError('INVALID_CONFIG', `model.json: format must be "layers-model" (a tf.LayersModel saved with model.save), got ${JSON.stringify(modelJson.format ?? null)}`);
  }
  if (!isRecord(modelJson.modelTopology)) throw new ChorusError('INVALID_CONFIG', 'model.json: modelTopology is missing');
  const entries = manifestEntries(modelJson);
  if (weightByteLength === 0) throw new ChorusError('INVALID_CONFIG', 'weights.bin: missing or empty');

  const topology = modelJson.modelTopology;
  checkTopology(topology, limits);
  const maxParameters = limits.maxParameters ?? DEFAULT_TOPOLOGY_LIMITS.maxParameters;
  const byName = new Map<string, { entry: ManifestEntry; offset: number }>();
  let offset = 0;
  for (const entry of entries) {
    if (entry.dtype !== 'float32') throw new ChorusError('SHAPE_MISMATCH', `model.json: weight "${entry.name}" has dtype ${entry.dtype}; only float32 is supported`);
    if (byName.has(entry.name)) throw new ChorusError('SHAPE_MISMATCH', `model.json: weight "${entry.name}" is listed twice`);
    byName.set(entry.name, { entry, offset });
    offset += tensorSize(entry.shape) * 4;
  }
  if (offset / 4 > maxParameters) {
    throw new ChorusError('PAYLOAD_TOO_LARGE', `model.json: the weights manifest lists ${(offset / 4).toLocaleString('en-US')} parameters; the limit is ${maxParameters.toLocaleString('en-US')}`);
  }
  if (weightByteLength !== offset) {
    throw new ChorusError('SHAPE_MISMATCH', `weights.bin: has ${weightByteLength} bytes, the weights manifest needs ${offset}`);
  }
  // Converted Keras files nest the model config under model_config; tfjs's own saves do not.
  const modelConfig = isRecord(topology.model_config) ? topology.model_config : topology;
  return { modelConfig, byName, parameters: offset / 4 };
}

