import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../index.js';
import { createModelBuilder } from '../tasks/model-build-worker.js';

const ADMIN_TOKEN = 'model-upload-test-admin-token-0123456789';
let dir: string;
let server: RunningServer;
let saved: { modelJson: Record<string, unknown>; weights: Uint8Array };
let savedFunctional: { modelJson: Record<string, unknown>; weights: Uint8Array };

/** A small dense model saved with tfjs, as an operator's model.json and weights.bin. */
async function saveDenseModel(functional = false): Promise<{ modelJson: Record<string, unknown>; weights: Uint8Array }> {
  const h = tf.layers.dense({ name: 'h', units: 5, activation: 'relu' });
  const out = tf.layers.dense({ name: 'out', units: 3, activation: 'softmax' });
  const x = tf.input({ shape: [4], name: 'x' });
  const model = functional
    ? tf.model({ inputs: x, outputs: out.apply(h.apply(x)) as tf.SymbolicTensor })
    : tf.sequential({ layers: [tf.layers.dense({ name: 'h', inputShape: [4], units: 5, activation: 'relu' }), out] });
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

async function upload(payload: unknown, to: RunningServer = server): Promise<{ status: number; json: any }> {
  const res = await fetch(`${to.url}/api/admin/tasks/upload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  return { status: res.status, json: await res.json() };
}

/**
 * Sends a body the server refuses by its Content-Length alone. The server answers 413 and closes the
 * connection without reading the rest, so the client's write may fail (EPIPE/ECONNRESET) after the
 * answer arrived: what counts is the answer, as a browser shows it.
 */
function uploadOversized(payload: unknown): Promise<{ status: number; json: any }> {
  const data = Buffer.from(JSON.stringify(payload));
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}/api/admin/tasks/upload`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', 'content-length': data.byteLength } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(parts).toString('utf8')) }));
      res.on('error', reject);
    });
    let answered = false;
    req.on('response', () => (answered = true));
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    req.end(data);
  });
}

/** The functional model with one layer's inbound_nodes replaced. */
function withInbound(layer: string, inboundNodes: unknown): Record<string, unknown> {
  const modelJson = structuredClone(savedFunctional.modelJson) as { modelTopology: { config: { layers: { name: string; inbound_nodes: unknown }[] } } };
  modelJson.modelTopology.config.layers.find((l) => l.name === layer)!.inbound_nodes = inboundNodes;
  return modelJson as unknown as Record<string, unknown>;
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
  savedFunctional = await saveDenseModel(true);
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
    ['weights that are not base64', () => ({ ...body('bad7', saved.modelJson, saved.weights), weights: 'not base64!' }), 'INVALID_CONFIG', 'weights: expected the contents of weights.bin as base64'],
    ['weights with a character base64 does not have', () => {
      const b = body('bad8', saved.modelJson, saved.weights);
      return { ...b, weights: `!${b.weights.slice(1)}` };
    }, 'INVALID_CONFIG', 'weights: expected the contents of weights.bin as base64'],
  ])('refuses %s with 400 and a message naming it, creating nothing', async (_what, make, code, message) => {
    const payload = make();

    const res = await upload(payload);

    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe(code);
    expect(res.json.error.message).toContain(message);
    expect(server.engine.hasTask(payload.config.id)).toBe(false);
  });

  it('refuses a request over the size limit with 413 naming the limit', async () => {
    const res = await uploadOversized(body('huge', saved.modelJson, new Uint8Array(33 * 1024 * 1024)));

    expect(res.status).toBe(413);
    expect(res.json.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(res.json.error.message).toContain('the limit is 33554432 bytes');
  });

  // Before the topology was checked as data, each of these sent tfjs into an endless loop (or a
  // minutes-long allocation) on the event loop: the request never answered and neither did anything else.
  it.each([
    ['a functional model whose layers form a cycle', () => body('cycle', withInbound('h', [[['out', 0, 0, {}]]]), savedFunctional.weights), 400, 'INVALID_CONFIG',
      'model topology: the layers form a cycle (h → out → h); a model\'s graph must be acyclic'],
    ['an inbound reference to a layer that does not exist', () => body('ghost', withInbound('out', [[['ghost', 0, 0, {}]]]), savedFunctional.weights), 400, 'INVALID_CONFIG',
      'model topology: layer "out" inbound node 0 names layer "ghost", which the model does not have'],
    ['a Dense layer of a billion units', () => {
      const modelJson = structuredClone(saved.modelJson) as { modelTopology: { config: { layers: { config: { units: number } }[] } } };
      modelJson.modelTopology.config.layers[0]!.config.units = 1e9;
      return body('billion', modelJson as unknown as Record<string, unknown>, saved.weights);
    }, 413, 'PAYLOAD_TOO_LARGE', 'model topology: layer "h" (Dense) alone holds 5,000,000,000 parameters; the limit is 6,000,000'],
  ])('refuses %s promptly, before building it, and the server goes on answering', async (_what, make, status, code, message) => {
    const payload = make();
    const started = performance.now();

    const res = await upload(payload);
    const ms = performance.now() - started;

    expect(res.status).toBe(status);
    expect(res.json.error).toEqual({ code, message });
    expect(ms).toBeLessThan(1_000);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(server.engine.hasTask(payload.config.id)).toBe(false);
  }, 10_000);

  it('accepts a functional model', async () => {
    const res = await upload(body('functional', savedFunctional.modelJson, savedFunctional.weights));

    expect(res.status).toBe(201);
    expect(res.json.task).toMatchObject({ id: 'functional', config: { data: { numClasses: 3 } } });
  }, 20_000);
});

describe('POST /api/admin/tasks/upload while a model is being built', () => {
  let slow: RunningServer;
  let slowDir: string;

  beforeAll(async () => {
    slowDir = mkdtempSync(join(tmpdir(), 'chorus-upload-slow-'));
    // A build that spins its thread for 1.5 s, as a large model would: on the event loop, it would stall every request meanwhile.
    const builder = createModelBuilder({ timeoutMs: 20_000 });
    slow = await startServer(
      { port: 0, host: '127.0.0.1', db: join(slowDir, 's.sqlite'), dbSync: 'NORMAL', demoTask: false, logLevel: 'silent', adminToken: ADMIN_TOKEN },
      { evaluate: null, modelUpload: { builder: { build: (job) => builder.build({ ...job, stallMs: 1_500 }), close: () => builder.close() } } },
    );
  });

  afterAll(async () => {
    await slow?.close();
    rmSync(slowDir, { recursive: true, force: true });
  });

  it('answers /healthz within 1 s all the while, then creates the task', async () => {
    const pending = upload(body('slow', saved.modelJson, saved.weights), slow);
    let done = false;
    void pending.finally(() => (done = true));
    const latencies: number[] = [];
    while (!done) {
      const started = performance.now();
      const res = await fetch(`${slow.url}/healthz`, { signal: AbortSignal.timeout(5_000) });
      latencies.push(performance.now() - started);
      expect(res.status).toBe(200);
      await new Promise((r) => setTimeout(r, 50));
    }

    expect((await pending).status).toBe(201);
    expect(latencies.length).toBeGreaterThan(10);
    expect(Math.max(...latencies)).toBeLessThan(1_000);
  }, 30_000);
});
