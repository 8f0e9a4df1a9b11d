'use client';

import type { LayersModel } from '@tensorflow/tfjs';
import { personalWeightsForPrediction, tensorSize, type PersonalizationInfo, type PersonalWeights } from '@chorus/core';

type Tf = typeof import('@tensorflow/tfjs');

let tfLoading: Promise<Tf> | undefined;

/**
 * TensorFlow.js for the suggestion strip, loaded on first use so pages without a keyboard task never
 * download it. The model is tiny (one prediction per keystroke), so the main thread runs it on the
 * cpu backend and leaves the GPU and the wasm heap to the trainer worker.
 */
function loadTf(): Promise<Tf> {
  tfLoading ??= (async () => {
    const tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    await tf.ready();
    return tf;
  })();
  return tfLoading;
}

export interface SuggestionModel {
  readonly version: number | 'latest';
  /** Probabilities of every vocabulary word following the `context` ids (left-padded window). */
  predict(context: Float32Array): Float32Array;
  dispose(): void;
}

/** A personalized task: its method and layers (from the join), and where this device keeps its own. */
export interface SuggestionPersonalization {
  readonly config: PersonalizationInfo;
  /** The device's personal layers (IndexedDB); undefined before its first round. */
  readonly load: () => Promise<PersonalWeights | undefined>;
}

/**
 * The model the device would predict with at `version`: the server's TensorFlow.js export (public,
 * like the weights the worker downloads) and, for a personalized task, this device's own layers
 * over it. FedPer / FedRep exports hold the shared layers only, so the model loads non-strictly and
 * the personal layers come from the device's store, or are the seeded head every device's first
 * round starts from (what this device will train, not a head nobody has).
 */
export async function loadSuggestionModel(serverUrl: string, taskId: string, version: number | 'latest', personal?: SuggestionPersonalization): Promise<SuggestionModel> {
  const tf = await loadTf();
  const url = `${serverUrl.replace(/\/$/, '')}/api/tasks/${encodeURIComponent(taskId)}/versions/${version}/model.json`;
  // Strict everywhere else: a task without personal layers must not predict with weights the export lacks.
  const [model, stored] = await Promise.all([tf.loadLayersModel(url, { strict: !personal }), personal?.load()]);
  try {
    if (personal) applyPersonal(tf, model, personalWeightsForPrediction(model.weights.map((w) => ({ name: w.originalName, shape: [...w.shape] as number[] })), personal.config, stored));
  } catch (err) {
    model.dispose();
    throw err;
  }
  return {
    version,
    predict: (context) =>
      tf.tidy(() => {
        const out = model.predict(tf.tensor2d(context, [1, context.length])) as import('@tensorflow/tfjs').Tensor;
        return out.dataSync() as Float32Array;
      }),
    dispose: () => model.dispose(),
  };
}

/** Writes each tensor of `part` into the model's weight of the same name. */
function applyPersonal(tf: Tf, model: LayersModel, part: { readonly layout: readonly { name: string; shape: readonly number[] }[]; readonly values: Float32Array } | undefined): void {
  if (!part) return;
  const byName = new Map(model.weights.map((w) => [w.originalName, w]));
  let offset = 0;
  for (const spec of part.layout) {
    const n = tensorSize(spec.shape);
    const weight = byName.get(spec.name);
    if (!weight) throw new Error(`the model has no weight "${spec.name}" for this device's personal layers`);
    tf.tidy(() => {
      weight.write(tf.tensor(part.values.subarray(offset, offset + n), [...spec.shape], 'float32'));
    });
    offset += n;
  }
}
