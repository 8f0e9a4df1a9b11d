// Prints training samples/s of each template on each Node backend: `npx tsx packages/ml/scripts/measure-training-speed.ts [examples]`.
import { createSeededRandom, subsetDataset, trainingConfigSchema } from '@chorus/core';
import { createInitialModel, modelFromTopology } from '../src/index.js';
import { trainLocal } from '../src/training/train-local.js';
import { initNodeBackend, loadMnist } from '../src/node/index.js';

const examples = Number(process.argv[2] ?? 160);
const only = process.argv[3];
const { train } = loadMnist(1);
const rows: Record<string, unknown>[] = [];
for (const backend of ['wasm', 'cpu'] as const) {
  await initNodeBackend(backend);
  for (const templateId of ['mnist-2nn', 'mnist-cnn']) {
    if (only && !`${backend}/${templateId}`.includes(only)) continue;
    for (const batchSize of [10, 32]) {
      const n = backend === 'cpu' && templateId === 'mnist-cnn' ? Math.min(examples, batchSize * 2) : examples;
      const data = subsetDataset(train, Int32Array.from({ length: n }, (_, i) => i));
      const init = await createInitialModel(templateId, 1);
      const model = await modelFromTopology(init.topology, init.weights);
      const config = trainingConfigSchema.parse({ batchSize, learningRate: 0.05 });
      await trainLocal(model, subsetDataset(data, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), config); // warm-up
      const r = await trainLocal(model, data, config, { random: createSeededRandom(1) });
      rows.push({ backend, templateId, batchSize, examples: n, samplesPerSecond: Math.round(r.metrics.samplesPerSecond * 10) / 10 });
      console.log(JSON.stringify(rows.at(-1)));
      model.dispose();
    }
  }
}
