import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../index.js';

const ADMIN_TOKEN = 'model-upload-test-admin-token-0123456789';
let dir: string;
let server: RunningServer;
let saved: { modelJson: Record<string, unknown>; weights: Uint8Array };

/** A small dense model saved with tfjs, as an operator's model.json and weights.bin. */
async function saveDenseModel(): Promise<{ modelJson: Record<string, unknown>; weights: Uint8Array }> {
  const model = tf.sequential({
    layers: [tf.layers.dense({ name: 'h', inputShape: [4], units: 5, activation: 'relu' }), tf.layers.dense({ name: 'out', units: 3, activation: 'softmax' })],
  });
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => ((artifacts = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
  model.dispose();
  return {
    modelJson: { format: 'layers-model', generatedBy: 'test', convertedBy: null, modelTopology: artifacts!.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: artifacts!.weightSpecs }] },
    weights: new Uint8Array(artifacts!.weightData as ArrayBuffer),
  };
}

function body(id: string, modelJson: Record<string, unknown>, weights: Uint8Array, data: Record<string, unknown> = { kind: 'tabular', numClasses: 3 }) {
  return { modelJson, weights: Buffer.from(weights).toString('base64'), config: { id, name: `Upload ${id}`, data } };
}

async function upload(payload: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}/api/admin/tasks/upload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  return { status: res.status, json: await res.json() };
}

function withManifest(edit: (specs: { name: string; shape: number[] }[]) => void): Record<string, unknown> {
  const manifest = structuredClone(saved.modelJson.weightsManifest) as { weights: { name: string; shape: number[] }[] }[];
  edit(manifest[0]!.weights);
  return { ...saved.modelJson, weightsManifest: manifest };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chorus-upload-'));
  server = await startServer({ port: 0, host: '127.0.0.1', db: join(dir, 'u.sqlite'), dbSync: 'NORMAL', demoTask: false, logLevel: 'silent', adminToken: ADMIN_TOKEN }, { evaluate: null });
  saved = await saveDenseModel();
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('POST /api/admin/tasks/upload', () => {
  it('creates a task whose version 0 weights.bin and model.json are the uploaded model', async () => {
    const res = await upload(body('uploaded', saved.modelJson, saved.weights));

    expect(res.status).toBe(201);
    expect(res.json.task).toMatchObject({ id: 'uploaded', status: 'created', latestVersion: 0, config: { data: { kind: 'tabular', inputShape: [4], numClasses: 3 } } });
    const bin = new Uint8Array(await (await fetch(`${server.url}/api/tasks/uploaded/versions/0/weights.bin`)).arrayBuffer());
    expect(Buffer.from(bin).equals(Buffer.from(saved.weights))).toBe(true);
    const modelJson = (await (await fetch(`${server.url}/api/tasks/uploaded/versions/0/model.json`)).json()) as { weightsManifest: { weights: { name: string; shape: number[] }[] }[] };
    expect(modelJson.weightsManifest[0]!.weights.map((w) => [w.name, w.shape])).toEqual([['h/kernel', [4, 5]], ['h/bias', [5]], ['out/kernel', [5, 3]], ['out/bias', [3]]]);
  });

  it.each([
    ['not a layers model', () => body('bad1', { ...saved.modelJson, format: 'graph-model' }, saved.weights), 'INVALID_CONFIG', 'model.json: format must be "layers-model"'],
    ['missing weights', () => body('bad2', saved.modelJson, new Uint8Array(0)), 'INVALID_CONFIG', 'weights.bin: missing or empty'],
    ['wrong shapes', () => body('bad3', withManifest((w) => ((w[0]!.shape = [5, 4]), undefined)), saved.weights), 'SHAPE_MISMATCH', 'weight "h/kernel" has shape [5, 4] in the manifest, the model needs [4, 5]'],
    ['a NaN weight', () => {
      const f = new Float32Array(saved.weights.slice().buffer);
      f[7] = Number.NaN;
      return body('bad4', saved.modelJson, new Uint8Array(f.buffer));
    }, 'NON_FINITE', 'weights.bin: value 7 is NaN'],
    ['a class count the model does not output', () => body('bad5', saved.modelJson, saved.weights, { kind: 'tabular', numClasses: 4 }), 'SHAPE_MISMATCH', 'model: its output has 3 units, data.numClasses is 4'],
    ['no data schema', () => ({ ...body('bad6', saved.modelJson, saved.weights), config: { id: 'bad6', name: 'x' } }), 'INVALID_CONFIG', 'config.data'],
  ])('refuses %s with 400 and a message naming it, creating nothing', async (_what, make, code, message) => {
    const payload = make();

    const res = await upload(payload);

    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe(code);
    expect(res.json.error.message).toContain(message);
    expect(server.engine.hasTask(payload.config.id)).toBe(false);
  });

  it('refuses a request over the size limit with 413 naming the limit', async () => {
    const res = await upload(body('huge', saved.modelJson, new Uint8Array(33 * 1024 * 1024)));

    expect(res.status).toBe(413);
    expect(res.json.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(res.json.error.message).toContain('the limit is 33554432 bytes');
  });
});
