import { describe, expect, it } from 'vitest';
import { runFuzz } from './fuzz-driver.js';

/**
 * A few thousand seeded hostile cases against a real server while honest participants train. The
 * long run is `npm run bench -- fuzz -- --messages 100000`.
 */
describe('fuzz: hostile participants', () => {
  it('3,000 hostile cases: no crash, no hang, only typed errors, every committed model finite', async () => {
    // Execute
    const report = await runFuzz({ cases: 3000, seed: 7, attackers: 4 });
    // Assert
    expect(report.examples).toEqual([]);
    expect({ crashes: report.crashes, hangs: report.hangs, untypedAnswers: report.untypedAnswers, nonFiniteVersions: report.nonFiniteVersions }).toEqual({ crashes: 0, hangs: 0, untypedAnswers: 0, nonFiniteVersions: 0 });
    // Most cases get at least one answer; an upload whose begin is answered ROUND_CLOSED (the round it
    // names is over: the upload gate) ends there, so the count is not a multiple of the cases.
    expect(report.answers).toBeGreaterThan(2500);
    expect(report.typedErrors).toBeGreaterThan(1000);
    expect(report.codes.OUT_OF_BOUNDS).toBeGreaterThan(0);
    expect(report.versions).toBeGreaterThan(0);
    // Honest updates are ±0.001 per round: a model that moved far was poisoned.
    expect(report.maxAbsWeight).toBeLessThan(1);
  }, 180_000);
});
