import { describe, expect, it } from 'vitest';
import { createRdpAccountant } from './rdp-accountant.js';
import { planPrivacy } from './privacy-plan.js';

describe('planPrivacy (the console’s live ε preview)', () => {
  it('gives the same ε after N rounds as the accountant the server runs', () => {
    // Prepare: 50 of 500 clients per round, z = 1.1, δ = 1e-5, 16 rounds (the bench's dp defaults).
    const accountant = createRdpAccountant({ noiseMultiplier: 1.1, sampleRate: 0.1, delta: 1e-5 });
    accountant.step(16);
    // Execute
    const plan = planPrivacy({ noiseMultiplier: 1.1, sampleRate: 0.1, delta: 1e-5, rounds: 16 });
    // Assert
    expect(plan.epsilon).toBeCloseTo(accountant.epsilon(), 12);
    expect(plan.roundsAllowed).toBeUndefined();
  });

  it('allows exactly the rounds whose ε stays within the budget', () => {
    // Execute
    const plan = planPrivacy({ noiseMultiplier: 1.1, sampleRate: 0.1, delta: 1e-5, rounds: 10, epsilonBudget: 3 });
    // Assert: one more round than allowed would overspend, as the server's budget check says.
    const acc = createRdpAccountant({ noiseMultiplier: 1.1, sampleRate: 0.1, delta: 1e-5 });
    expect(plan.roundsAllowed).toBeGreaterThan(10);
    expect(acc.epsilonAfter(plan.roundsAllowed!)).toBeLessThanOrEqual(3);
    expect(acc.epsilonAfter(plan.roundsAllowed! + 1)).toBeGreaterThan(3);
  });

  it('allows no round when even one overspends, and says when the cap was reached', () => {
    expect(planPrivacy({ noiseMultiplier: 0.3, sampleRate: 1, delta: 1e-5, rounds: 1, epsilonBudget: 0.5 }).roundsAllowed).toBe(0);
    expect(planPrivacy({ noiseMultiplier: 50, sampleRate: 0.01, delta: 1e-5, rounds: 1, epsilonBudget: 10, maxRounds: 1000 })).toMatchObject({ roundsAllowed: 1000, roundsCapped: true });
  });

  it('reports an infinite ε without noise, and ε = 0 before any round', () => {
    expect(planPrivacy({ noiseMultiplier: 0, sampleRate: 0.1, delta: 1e-5, rounds: 5 }).epsilon).toBe(Infinity);
    expect(planPrivacy({ noiseMultiplier: 1, sampleRate: 0.1, delta: 1e-5, rounds: 0 }).epsilon).toBe(0);
  });
});
