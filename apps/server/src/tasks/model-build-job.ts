import { ChorusError, type DataSchema } from '@chorus/core';
import type { TopologyLimits, UploadedModel } from '@chorus/ml';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

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
  // Buffer.from skips what is not base64; checked first (~180 ms for 32 MiB: why it runs here).
  if (!BASE64.test(job.weightsBase64)) throw new ChorusError('INVALID_CONFIG', 'weights: expected the contents of weights.bin as base64');
  const weights = new Uint8Array(Buffer.from(job.weightsBase64, 'base64'));
  return ml.validateUploadedModel(job.modelJson, weights, job.data, job.limits);
}
