// Entry of the model build worker. Plain JavaScript: a Worker starts outside the loader that runs the
// server (tsx) or the tests (vitest), so it registers tsx itself before importing the TypeScript job.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { runModelBuildJob } = await import('./model-build-job.ts');
try {
  const model = await runModelBuildJob(workerData);
  parentPort.postMessage({ ok: true, model }, [model.weights.buffer]);
} catch (err) {
  const known = err && typeof err === 'object' && typeof err.code === 'string';
  parentPort.postMessage({ ok: false, error: { code: known ? err.code : 'INTERNAL', message: String(err?.message ?? err), stack: err?.stack } });
}
