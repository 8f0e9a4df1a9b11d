import { describe, expect, it } from 'vitest';
import { runSimulation, type RoundReport } from './simulation.js';

describe('differential downloads in a simulation (embedded server, real sessions)', () => {
  it('clients that hold the last version download only its int8 difference, and keep training', async () => {
    // Prepare: 4 clients, all selected every round, so from round 2 on each holds the version before.
    const reports: RoundReport[] = [];

    // Execute
    for await (const report of runSimulation({
      clients: 4,
      rounds: 3,
      model: 'mnist-2nn',
      partition: 'iid',
      fraction: 1,
      localEpochs: 1,
      batchSize: 20,
      learningRate: 0.1,
      codec: 'int8',
      seed: 5,
      deadlineMs: 60_000,
    })) {
      reports.push(report);
    }

    // Assert: round 1 downloads the whole float32 model (version 0, maybe compressed a little);
    // rounds 2 and 3 move a quarter of it (int8 difference), and accuracy still rises.
    const full = 4 * 4 * 199_210;
    expect(reports.map((r) => r.participants)).toEqual([4, 4, 4]);
    expect(reports[0]!.bytesDown).toBeGreaterThan(0.85 * full);
    for (const r of reports.slice(1)) {
      expect(r.bytesDown).toBeGreaterThan(0);
      expect(r.bytesDown).toBeLessThan(0.26 * full);
    }
    expect(reports[2]!.accuracy).toBeGreaterThan(reports[0]!.accuracy);
  }, 180_000);
});
