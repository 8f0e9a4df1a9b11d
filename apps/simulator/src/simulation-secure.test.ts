import { describe, expect, it } from 'vitest';
import { useEmbeddedServer } from './embedded-server.test-helper.js';
import { runSimulation, type RoundReport } from './simulation.js';

const embedded = useEmbeddedServer();

describe('secure aggregation with dropouts through the simulator (embedded server, real Socket.IO)', () => {
  it('six neighbours (12 binary keys in one message) and two clients dropping after sharing keys: the round commits from the other six', async () => {
    // Prepare: seed 4 makes clients 3 and 7 drop out of round 1 at --dropout 0.25. Each participant
    // has 6 of the 7 others as neighbours, so at least 4 = threshold of its holders survive.
    const reports: RoundReport[] = [];
    // Execute
    for await (const r of runSimulation({
      serverUrl: embedded().url,
      taskId: 'sim-secure-dropout',
      clients: 8,
      fraction: 1,
      rounds: 1,
      model: 'mnist-2nn',
      batchSize: 20,
      learningRate: 0.1,
      maxExamples: 50,
      seed: 4,
      minClients: 5,
      dropout: 0.25,
      secureAggregation: { neighbours: 6, threshold: 4 },
    })) {
      reports.push(r);
    }
    // Assert: version 1 came from round 1 (not a retry), with the six that stayed.
    expect(reports.map((r) => [r.round, r.version, r.participants, r.failures])).toEqual([[1, 1, 6, 2]]);
    expect(reports[0]!.accuracy).toBeGreaterThan(0.2);
  }, 240_000);
});
