import { Worker } from 'node:worker_threads';
import { ChorusError, isErrorCode } from '@chorus/core';
import type { UploadedModel } from '@chorus/ml';
import type { ModelBuildJob } from './model-build-job.js';

export interface ModelBuildLimits {
  /** Longest one upload's build may take, worker start-up (~1 s) included; then the worker is terminated. @default 30_000 */
  readonly timeoutMs: number;
  /** Heap (V8 old generation) of a build worker, MiB; a build that needs more is stopped. @default 512 */
  readonly maxHeapMb: number;
  /** Builds running at once; one more is refused with UNAVAILABLE (retryable) rather than queued. @default 2 */
  readonly maxConcurrent: number;
}

export const DEFAULT_MODEL_BUILD_LIMITS: ModelBuildLimits = { timeoutMs: 30_000, maxHeapMb: 512, maxConcurrent: 2 };

type WorkerReply = { ok: true; model: UploadedModel } | { ok: false; error: { code: string; message: string; stack?: string } };

export interface ModelBuilder {
  /** Builds and checks one uploaded model in its own worker thread. */
  build(job: ModelBuildJob): Promise<UploadedModel>;
  /** Stops every build in flight (each rejects with UNAVAILABLE): a stopping server does not wait for them. */
  close(): void;
}

/**
 * Builds uploaded models off the event loop: one worker thread per build, terminated when it is done
 * or when it runs past `timeoutMs`. tfjs building a model is synchronous work in proportion to the
 * model; in a worker, participants and /healthz are answered meanwhile and a runaway build is
 * stopped instead of the process.
 */
export function createModelBuilder(limits: Partial<ModelBuildLimits> = {}): ModelBuilder {
  const { timeoutMs, maxHeapMb, maxConcurrent } = { ...DEFAULT_MODEL_BUILD_LIMITS, ...limits };
  const inFlight = new Set<() => void>();
  return {
    async build(job) {
      if (inFlight.size >= maxConcurrent) throw new ChorusError('UNAVAILABLE', `model upload: ${inFlight.size} uploaded models are being built already; try again when one is done`);
      return runInWorker(job, timeoutMs, maxHeapMb, inFlight);
    },
    close() {
      for (const stop of inFlight) stop();
    },
  };
}

function runInWorker(job: ModelBuildJob, timeoutMs: number, maxHeapMb: number, inFlight: Set<() => void>): Promise<UploadedModel> {
  const worker = new Worker(new URL('./model-build-worker-entry.mjs', import.meta.url), {
    workerData: job,
    resourceLimits: { maxOldGenerationSizeMb: maxHeapMb },
  });
  // A build in flight must not hold a stopping process open (close() and the timeout end it too).
  worker.unref();
  return new Promise<UploadedModel>((resolve, reject) => {
    const timer = setTimeout(() => {
      finish(() => reject(new ChorusError('TIMEOUT', `model upload: building the model took longer than ${timeoutMs} ms and was stopped; upload a smaller model`)));
    }, timeoutMs);
    let settled = false;
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      inFlight.delete(stop);
      void worker.terminate();
      settle();
    };
    const stop = () => finish(() => reject(new ChorusError('UNAVAILABLE', 'model upload: the server is shutting down; the build was stopped')));
    inFlight.add(stop);
    worker.once('message', (reply: WorkerReply) => {
      finish(() => {
        if (reply.ok) return resolve(reply.model);
        const err = new ChorusError(isErrorCode(reply.error.code) ? reply.error.code : 'INTERNAL', reply.error.message);
        // The stack is the worker's: where the build actually failed.
        if (reply.error.stack) err.stack = reply.error.stack;
        reject(err);
      });
    });
    worker.once('error', (err: Error & { code?: string }) => {
      finish(() =>
        reject(
          err.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? new ChorusError('PAYLOAD_TOO_LARGE', `model upload: building the model needed more than ${maxHeapMb} MiB of memory and was stopped`, { cause: err })
            : new ChorusError('INTERNAL', `model upload: the build worker failed: ${err.message}`, { cause: err }),
        ),
      );
    });
    worker.once('exit', (code) => finish(() => reject(new ChorusError('INTERNAL', `model upload: the build worker exited (code ${code}) without a result`))));
  });
}
