import { describe, expect, it } from 'vitest';
import { runSimulation } from './simulation.js';

describe('a simulation is reproducible from its seed', () => {
  it('selects the same clients for the same seed: two shards:2 runs end at the same accuracy', async () => {
    // shards:2 with 5 of 20 clients a round: which clients train decides the accuracy by points.
    const run = async (): Promise<number[]> => {
      const accuracies: number[] = [];
      for await (const r of runSimulation({ clients: 20, rounds: 3, model: 'mnist-2nn', partition: 'shards:2', fraction: 0.25, localEpochs: 1, batchSize: 20, learningRate: 0.1, codec: 'float32', seed: 4, deadlineMs: 60_000 })) {
        accuracies.push(r.accuracy);
      }
      return accuracies;
    };
    const first = await run();
    const second = await run();
    // Equal up to the order in which the round's updates were summed (float rounding).
    for (let i = 0; i < first.length; i++) expect(Math.abs(first[i]! - second[i]!)).toBeLessThan(0.005);
  }, 240_000);
});
