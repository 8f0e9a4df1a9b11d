import { describe, expect, it } from 'vitest';
import { OpenRound } from './open-round.js';

/** A round of `n` participants, each reporting what a FedPer or Ditto device reports, weighted by its examples. */
function roundWith(reports: readonly { examples: number; shared: number; own: number; chosen?: number }[]): OpenRound {
  const r = new OpenRound('t', 1, 't-r1', 0, 0, {} as never, {} as never, []);
  for (const x of reports) {
    r.accepted += 1;
    r.examples += x.examples;
    r.addMetrics(
      { loss: 0.5, holdoutSharedAccuracy: x.shared, holdoutPersonalAccuracy: x.own, personalGainPp: (x.own - x.shared) * 100, holdoutExamples: 5, ...(x.chosen !== undefined ? { ownModelChosen: x.chosen } : {}) },
      x.examples,
    );
  }
  return r;
}

describe('OpenRound.summaryMetrics: personal figures as aggregates only', () => {
  it.each([1, 2])('with %d participant(s) it publishes none of their personal figures, only the counts and training means', (n) => {
    // Prepare
    const r = roundWith([
      { examples: 10, shared: 0.5, own: 0.75, chosen: 1 },
      { examples: 30, shared: 0.25, own: 0.5, chosen: 0 },
    ].slice(0, n));
    // Execute
    const m = r.summaryMetrics();
    // Assert: one person's accuracy (or two, and the difference between them) would be readable here.
    expect(Object.keys(m).sort()).toEqual(['client_holdoutExamples', 'client_loss', 'examples', 'updates']);
    expect(m.updates).toBe(n);
  });

  it('with 3 it publishes the example-weighted means and the gain distribution', () => {
    // Prepare: weights 10, 30, 60 (sum 100)
    const r = roundWith([
      { examples: 10, shared: 0.5, own: 0.75, chosen: 1 },
      { examples: 30, shared: 0.25, own: 0.5, chosen: 0 },
      { examples: 60, shared: 0.5, own: 0.5, chosen: 1 },
    ]);
    // Execute
    const m = r.summaryMetrics();
    // Assert: (10·0.5 + 30·0.25 + 60·0.5) / 100 = 0.425; (10·0.75 + 30·0.5 + 60·0.5) / 100 = 0.525; (10 + 60) / 100 = 0.7
    expect(m.client_holdoutSharedAccuracy).toBeCloseTo(0.425, 12);
    expect(m.client_holdoutPersonalAccuracy).toBeCloseTo(0.525, 12);
    expect(m.client_ownModelChosen).toBeCloseTo(0.7, 12);
    // gains 25, 25, 0 points: weighted mean (250 + 750 + 0) / 100 = 10; median 25, 2 of 3 gained
    expect(m.client_personalGainPp).toBeCloseTo(10, 10);
    expect(m).toMatchObject({ personalGainMedian: 25, personalGainClients: 3 });
    expect(m.personalGainImprovedShare).toBeCloseTo(2 / 3, 12);
  });

  it('counts reports per figure: three updates of which only two carry ownModelChosen publish no mean of it', () => {
    const r = roundWith([
      { examples: 10, shared: 0.5, own: 0.75, chosen: 1 },
      { examples: 30, shared: 0.25, own: 0.5, chosen: 0 },
      { examples: 60, shared: 0.5, own: 0.5 },
    ]);
    const m = r.summaryMetrics();
    expect(m.client_ownModelChosen).toBeUndefined();
    expect(m.client_holdoutSharedAccuracy).toBeCloseTo(0.425, 12);
  });
});
