'use client';

import type { LayersModel } from '@tensorflow/tfjs';

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

/** The task's global model at `version`, from the server's TensorFlow.js export (public, like the weights the worker downloads). */
export async function loadSuggestionModel(serverUrl: string, taskId: string, version: number | 'latest'): Promise<SuggestionModel> {
  const tf = await loadTf();
  const url = `${serverUrl.replace(/\/$/, '')}/api/tasks/${encodeURIComponent(taskId)}/versions/${version}/model.json`;
  const model: LayersModel = await tf.loadLayersModel(url);
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
