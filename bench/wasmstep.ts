/**
 * Where one training step of the CNN goes on the wasm backend, per kernel (issue 14). Runs in Node,
 * where tfjs-backend-wasm loads its single-threaded SIMD build: what it shows is the serial cost of
 * each kernel. Kernels that do not run on XNNPACK (packing weights, transposes, loops in JS or
 * plain C++) stay on one thread in the browser's threaded build too, so they bound
 * `wasmThreadsOverSingle` (bench/browser.ts) by Amdahl's law.
 *
 * Knobs: WASMSTEP_STEPS (timed steps, default 20), WASMSTEP_TEMPLATE (default mnist-cnn),
 * WASMSTEP_TOP (kernels listed, default 12).
 */
import * as tf from '@tensorflow/tfjs';
import { getModelTemplate } from '@chorus/ml';
import { initNodeBackend } from '@chorus/ml/node';

const round2 = (x: number) => Math.round(x * 100) / 100;

export async function run(): Promise<Record<string, unknown>> {
  const steps = Number(process.env.WASMSTEP_STEPS ?? 20);
  const templateId = process.env.WASMSTEP_TEMPLATE ?? 'mnist-cnn';
  const top = Number(process.env.WASMSTEP_TOP ?? 12);
  await initNodeBackend('wasm');
  const template = getModelTemplate(templateId);
  const model = template.build();
  const inputShape = model.inputs[0]!.shape.slice(1) as number[];
  const classes = model.outputs[0]!.shape[1] as number;
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const optimizer = tf.train.sgd(0.01);
  const batch = 10;
  // The shape of trainLocal's step: gradients of the loss, then one optimizer update.
  const step = () => {
    const loss = tf.tidy(() => {
      const x = tf.randomUniform([batch, ...inputShape]);
      const y = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % classes), 'int32'), classes);
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
        vars,
      );
      optimizer.applyGradients(grads as unknown as Record<string, tf.Variable>);
      return value;
    });
    loss.dataSync();
    loss.dispose();
  };
  for (let i = 0; i < 3; i++) step();
  const started = performance.now();
  for (let i = 0; i < steps; i++) step();
  const stepMs = (performance.now() - started) / steps;

  const perKernel = new Map<string, number>();
  const profiled = Math.max(1, Math.min(steps, 5));
  for (let i = 0; i < profiled; i++) {
    const profile = await tf.profile(step);
    for (const k of profile.kernels) {
      const key = `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join('×')}`;
      const ms = await k.kernelTimeMs;
      if (typeof ms !== 'number') throw new Error(`wasmstep: no timing for ${key}: ${ms.error}`);
      perKernel.set(key, (perKernel.get(key) ?? 0) + ms / profiled);
    }
  }
  model.dispose();
  const ranked = [...perKernel.entries()].sort((a, b) => b[1] - a[1]);
  const kernelMs = ranked.reduce((sum, [, ms]) => sum + ms, 0);
  for (const [key, ms] of ranked.slice(0, top)) process.stderr.write(`${ms.toFixed(2).padStart(7)} ms  ${key}\n`);
  return {
    template: templateId,
    batch,
    steps,
    stepMs: round2(stepMs),
    examplesPerSecond: Math.round((batch * 1000) / stepMs),
    kernelMs: round2(kernelMs),
    topKernelsMs: Object.fromEntries(ranked.slice(0, top).map(([key, ms]) => [key, round2(ms)])),
  };
}
