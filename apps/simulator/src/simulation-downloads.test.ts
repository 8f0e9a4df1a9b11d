import { describe, expect, it } from 'vitest';
import { runSimulation, type RoundReport } from './simulation.js';

/** The 2NN's float32 model, per client. */
const FULL = 4 * 199_210;

async function simulate(options: { clients: number; rounds: number; fraction: number }): Promise<RoundReport[]> {
  const reports: RoundReport[] = [];
  for await (const report of runSimulation({ ...options, model: 'mnist-2nn', partition: 'iid', localEpochs: 1, batchSize: 20, learningRate: 0.1, codec: 'int8', seed: 5, deadlineMs: 60_000 })) {
    reports.push(report);
  }
  return reports;
}

describe('differential downloads in a simulation (embedded server, real sessions)', () => {
  it('clients rebuild version 0 from the seed, then download only each version\'s int8 difference, and keep training', async () => {
    // 4 clients, all selected every round, so from round 2 on each holds the version before.
    const reports = await simulate({ clients: 4, rounds: 3, fraction: 1 });

    // Round 1 trains version 0, rebuilt from the task's seed: nothing downloaded. Rounds 2 and 3
    // move at most a quarter of the model per client (int8 difference, brotli'd on the wire).
    expect(reports.map((r) => r.participants)).toEqual([4, 4, 4]);
    expect(reports[0]!.bytesDown).toBe(0);
    for (const r of reports.slice(1)) {
      expect(r.bytesDown).toBeGreaterThan(0);
      expect(r.bytesDown).toBeLessThan(0.26 * 4 * FULL);
    }
    expect(reports[2]!.accuracy).toBeGreaterThan(reports[0]!.accuracy);
  }, 180_000);

  it('clients that skip rounds download one difference from what they hold, never the whole model', async () => {
    // 6 clients, half selected each round: most come back two or more versions behind (or new).
    const reports = await simulate({ clients: 6, rounds: 4, fraction: 0.5 });

    const clientRounds = reports.reduce((a, r) => a + r.participants, 0);
    const down = reports.reduce((a, r) => a + r.bytesDown, 0);
    expect(clientRounds).toBeGreaterThanOrEqual(10);
    // Every download is at most one int8 difference: ≥ 4× under the float32 model per client-round.
    expect(down / clientRounds).toBeLessThan(FULL / 4);
    expect(reports.at(-1)!.accuracy).toBeGreaterThan(reports[0]!.accuracy);
  }, 240_000);
});
