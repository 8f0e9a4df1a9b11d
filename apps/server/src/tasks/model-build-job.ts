import type { DataSchema } from '@chorus/core';
import type { TopologyLimits, UploadedModel } from '@chorus/ml';

/** What the upload route hands the build worker: plain data, cloned across the thread boundary. */
export interface ModelBuildJob {
  readonly modelJson: Record<string, unknown>;
  /** weights.bin as base64: decoded in the worker, not on the event loop. */
  readonly weightsBase64: string;
  readonly data: DataSchema;
  readonly limits: Partial<TopologyLimits>;
  /** Test hook: the worker spins this long before building, standing in for a slow model. @default 0 */
  readonly stallMs?: number;
}

/**
 * Runs inside the build worker (model-build-worker-entry.mjs): the backend the server uses (wasm,
 * ~50 ms to start; cpu when its binaries cannot be loaded), then validateUploadedModel.
 */
export async function runModelBuildJob(job: ModelBuildJob): Promise<UploadedModel> {
  const [ml, node] = await Promise.all([import('@chorus/ml'), import('@chorus/ml/node')]);
  await node.initNodeBackend('wasm').catch(() => node.initNodeBackend('cpu'));
  if (job.stallMs) for (const until = Date.now() + job.stallMs; Date.now() < until; );
  const weights = new Uint8Array(Buffer.from(job.weightsBase64, 'base64'));
  return ml.validateUploadedModel(job.modelJson, weights, job.data, job.limits);
}
