import { describe, expect, it } from 'vitest';
import { runSimulation, type RoundReport } from './simulation.js';
import type { SimulationOptions } from './simulation-options.js';

/**
 * Every strategy and aggregator runs in a real (small) simulated training: embedded server, real
 * Socket.IO, 4 of 20 clients per round. The exact math is tested in @chorus/core; this proves each
 * one is wired end to end and learns.
 */
const STRATEGIES: [label: string, strategy: NonNullable<SimulationOptions['strategy']>][] = [
  ['fedavg', { id: 'fedavg', options: {} }],
  ['fedavgm', { id: 'fedavgm', options: { momentum: 0.5 } }],
  ['fedadagrad', { id: 'fedadagrad', options: { eta: 0.01, tau: 1e-3 } }],
  ['fedadam', { id: 'fedadam', options: { eta: 0.01, tau: 1e-3 } }],
  ['fedyogi', { id: 'fedyogi', options: { eta: 0.01, tau: 1e-3 } }],
  ['fedprox', { id: 'fedprox', options: { mu: 0.1 } }],
  ['median', { id: 'fedavg', options: { aggregator: 'median' } }],
  ['trimmed mean', { id: 'fedavg', options: { aggregator: 'trimmed-mean', trimBeta: 0.25 } }],
  ['multi-krum', { id: 'fedavg', options: { aggregator: 'multi-krum', krumF: 1 } }],
  ['norm bound', { id: 'fedavg', options: { clipNorm: 5 } }],
  ['DP-FedAvg', { id: 'fedavg', options: { dp: { clipNorm: 5, noiseMultiplier: 0.01, sampleRate: 0.2 } } }],
];

async function simulate(strategy: NonNullable<SimulationOptions['strategy']>): Promise<RoundReport[]> {
  const reports: RoundReport[] = [];
  for await (const r of runSimulation({
    clients: 20,
    rounds: 2,
    model: 'mnist-2nn',
    partition: 'iid',
    fraction: 0.2,
    localEpochs: 1,
    batchSize: 20,
    learningRate: 0.1,
    codec: 'int8',
    seed: 5,
    strategy,
  })) {
    reports.push(r);
  }
  return reports;
}

describe('every strategy in a simulated training', () => {
  it.each(STRATEGIES)('%s commits two rounds and learns', async (_label, strategy) => {
    // Execute
    const reports = await simulate(strategy);

    // Assert: two versions, all 4 updates used, far better than chance (10%) on held-out digits.
    expect(reports.map((r) => r.version)).toEqual([1, 2]);
    expect(reports.every((r) => r.participants === 4 && r.failures === 0)).toBe(true);
    expect(Number.isFinite(reports[1]!.loss)).toBe(true);
    expect(reports[1]!.accuracy).toBeGreaterThan(0.5);
  }, 120_000);
});
