import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { ChorusError } from '@chorus/core';
import type { DataSchema } from '@chorus/core';
import type { ModelBuildJob } from './model-build-job.js';
import { createModelBuilder } from './model-build-worker.js';

const DATA: DataSchema = { kind: 'tabular', inputShape: [3], numClasses: 2 };

async function job(): Promise<ModelBuildJob> {
  const model = tf.sequential({ layers: [tf.layers.dense({ name: 'h', inputShape: [3], units: 2, activation: 'softmax' })] });
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
  model.dispose();
  const modelJson = { format: 'layers-model', modelTopology: saved!.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: saved!.weightSpecs }] };
  return { modelJson, weightsBase64: Buffer.from(saved!.weightData as ArrayBuffer).toString('base64'), data: DATA, limits: {} };
}

async function refusal(p: Promise<unknown>): Promise<ChorusError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ChorusError);
  return err as ChorusError;
}

describe('createModelBuilder', () => {
  it('builds the model in a worker and hands back its layout and exact weights', async () => {
    const j = await job();

    const model = await createModelBuilder().build(j);

    expect(model.layout).toEqual([{ name: 'h/kernel', shape: [3, 2] }, { name: 'h/bias', shape: [2] }]);
    expect(Buffer.from(model.weights.buffer).toString('base64')).toBe(j.weightsBase64);
  }, 20_000);

  it('keeps the code and message of an error thrown in the worker, and its stack', async () => {
    const j = await job();

    const err = await refusal(createModelBuilder().build({ ...j, data: { ...DATA, numClasses: 5 } }));

    expect([err.code, err.message]).toEqual(['SHAPE_MISMATCH', 'model: its output has 2 units, data.numClasses is 5']);
    expect(err.stack).toContain('checkOutput');
  }, 20_000);

  it('stops a build that runs past its timeout with TIMEOUT, and the event loop runs meanwhile', async () => {
    const j = await job();
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 20);

    const started = performance.now();
    const err = await refusal(createModelBuilder({ timeoutMs: 500 }).build({ ...j, stallMs: 60_000 }));
    clearInterval(ticker);

    expect([err.code, err.message]).toEqual(['TIMEOUT', 'model upload: building the model took longer than 500 ms and was stopped; upload a smaller model']);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(ticks).toBeGreaterThan(10);
  }, 20_000);

  it('refuses a build beyond maxConcurrent with UNAVAILABLE rather than queueing it', async () => {
    const j = await job();
    const builder = createModelBuilder({ maxConcurrent: 1 });
    const first = builder.build(j);

    const err = await refusal(builder.build(j));

    expect(err.code).toBe('UNAVAILABLE');
    expect((await first).layout).toHaveLength(2);
  }, 20_000);

  it('stops a build that outgrows its heap with PAYLOAD_TOO_LARGE', async () => {
    const j = await job();

    const err = await refusal(createModelBuilder({ maxHeapMb: 8 }).build(j));

    expect([err.code, err.message]).toEqual(['PAYLOAD_TOO_LARGE', 'model upload: building the model needed more than 8 MiB of memory and was stopped']);
  }, 20_000);

  it('stops the builds in flight on close, so a stopping server does not wait for them', async () => {
    const j = await job();
    const builder = createModelBuilder();
    const pending = builder.build({ ...j, stallMs: 60_000 });

    builder.close();
    const err = await refusal(pending);

    expect([err.code, err.message]).toEqual(['UNAVAILABLE', 'model upload: the server is shutting down; the build was stopped']);
  }, 20_000);
});
