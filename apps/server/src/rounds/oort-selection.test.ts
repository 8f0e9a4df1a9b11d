import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '@chorus/core';
import type { ParticipantHistory } from '../storage/selection-records.js';
import type { SelectionCandidate } from './client-selection.js';
import { createOortSelector, parseOortOptions } from './oort-selection.js';

const cand = (id: string, samplesPerSecond?: number): SelectionCandidate => ({ participantId: id, capabilities: { backend: 'wasm', numExamples: 100, ...(samplesPerSecond ? { samplesPerSecond } : {}) } });
const seen = (id: string, h: Partial<ParticipantHistory>): ParticipantHistory => ({ participantId: id, invited: 1, completed: 1, dropped: 0, lastLoss: 1, lastExamples: 100, lastDurationMs: 1000, lastRound: 1, signature: null, ...h });

function run(options: Record<string, unknown>, cs: SelectionCandidate[], history: ParticipantHistory[], count: number, round = 5, seed = 1) {
  const selector = createOortSelector(parseOortOptions(options));
  return selector.select({ candidates: cs, count, round, random: createSeededRandom(seed), history: new Map(history.map((h) => [h.participantId, h])), deadlineMs: 60_000, examplesPerRound: () => 100 });
}

describe('Oort selection', () => {
  it('explores unseen participants when it knows no one, the faster ones more often', () => {
    const cs = [...Array.from({ length: 10 }, (_, i) => cand(`fast${i}`, 1000)), ...Array.from({ length: 10 }, (_, i) => cand(`slow${i}`, 10))];
    let fast = 0;
    for (let seed = 1; seed <= 20; seed++) fast += run({}, cs, [], 5, 1, seed).picked.filter((c) => c.participantId.startsWith('fast')).length;

    expect(run({}, cs, [], 5).reasons.every((r) => r.kind === 'explore')).toBe(true);
    expect(fast / 100).toBeGreaterThan(0.9);
  });

  it('exploits by statistical utility: high loss × examples over low, with utility, speed and reliability as reasons', () => {
    const cs = ['hi1', 'hi2', 'lo1', 'lo2', 'lo3', 'lo4'].map((id) => cand(id, 100));
    const history = cs.map((c) => seen(c.participantId, { lastLoss: c.participantId.startsWith('hi') ? 2 : 0.1 }));

    const r = run({ cutoff: 1, explorationFactor: 0, minExploration: 0 }, cs, history, 2);

    expect(r.picked.map((c) => c.participantId).sort()).toEqual(['hi1', 'hi2']);
    expect(r.reasons[0]).toMatchObject({ kind: 'exploit', speed: 100, reliability: 2 / 3, expectedMs: 1000 });
    expect(r.reasons[0]!.utility).toBeGreaterThan(0);
  });

  it("penalizes devices slower than the preferred duration by (T/t)^α and unreliable ones by their completion rate", () => {
    const cs = ['quick', 'sluggish', 'flaky'].map((id) => cand(id));
    const history = [seen('quick', {}), seen('sluggish', { lastDurationMs: 10_000 }), seen('flaky', { invited: 10, completed: 1, dropped: 9 })];

    const r = run({ cutoff: 1, explorationFactor: 0, minExploration: 0, preferredDurationMs: 1000 }, cs, history, 3);
    const utility = Object.fromEntries(r.reasons.map((x) => [x.participantId, x.utility!]));

    // Same loss and examples: quick keeps its utility, sluggish loses (1000/10000)^2, flaky keeps (1+1)/(1+9+2).
    expect(utility.sluggish! / utility.quick!).toBeCloseTo(0.01, 5);
    expect(utility.flaky! / utility.quick!).toBeCloseTo((2 / 12) / (2 / 3), 5);
  });

  it('counts only finished invitations in reliability: work cut short by a closed round or still in flight is no dropout', () => {
    const cs = ['steady', 'overSelected'].map((id) => cand(id));
    // overSelected was invited 10 times: 5 updates arrived, 5 times the round closed at its target
    // without it (or its asynchronous work is still under way). It never left or failed.
    const history = [seen('steady', { invited: 5, completed: 5 }), seen('overSelected', { invited: 10, completed: 5, dropped: 0 })];

    const r = run({ cutoff: 1, explorationFactor: 0, minExploration: 0 }, cs, history, 2);
    const reliability = Object.fromEntries(r.reasons.map((x) => [x.participantId, x.reliability!]));

    expect(reliability).toEqual({ steady: 6 / 7, overSelected: 6 / 7 });
  });

  it('with fairness 1 picks the participants invited least, whatever their utility', () => {
    const cs = ['often', 'rarely'].map((id) => cand(id));
    const history = [seen('often', { invited: 20, completed: 20, lastLoss: 5 }), seen('rarely', { invited: 1, completed: 1, lastLoss: 0.01 })];

    expect(run({ fairness: 1, cutoff: 1, explorationFactor: 0, minExploration: 0 }, cs, history, 1).picked.map((c) => c.participantId)).toEqual(['rarely']);
    expect(run({ fairness: 0, cutoff: 1, explorationFactor: 0, minExploration: 0 }, cs, history, 1).picked.map((c) => c.participantId)).toEqual(['often']);
  });

  it('gives ε of the round to unseen participants and decays ε once per round to its floor, not per call', () => {
    const cs = [...Array.from({ length: 10 }, (_, i) => cand(`old${i}`)), ...Array.from({ length: 10 }, (_, i) => cand(`new${i}`))];
    const history = cs.slice(0, 10).map((c) => seen(c.participantId, {}));
    const selector = createOortSelector(parseOortOptions({ explorationFactor: 0.5, explorationDecay: 0.5, minExploration: 0.2 }));
    const pick = (round: number) => selector.select({ candidates: cs, count: 10, round, random: createSeededRandom(2), history: new Map(history.map((h) => [h.participantId, h])), deadlineMs: 1, examplesPerRound: () => 1 });

    expect(pick(3).reasons.filter((r) => r.kind === 'explore')).toHaveLength(5);
    // A second pick in the same round (an asynchronous buffer dispatching again) keeps ε.
    expect(pick(3).reasons.filter((r) => r.kind === 'explore')).toHaveLength(5);
    expect(selector.exportState!()).toEqual({ epsilon: 0.5, round: 3 });
    pick(4);
    expect(selector.exportState!()).toEqual({ epsilon: 0.25, round: 4 });
    pick(5);
    expect(selector.exportState!()).toEqual({ epsilon: 0.2, round: 5 });
  });

  it('one pick at a time (asynchronous dispatch) still explores a share ε ≥ minExploration of the picks', () => {
    const cs = [...Array.from({ length: 10 }, (_, i) => cand(`old${i}`)), ...Array.from({ length: 10 }, (_, i) => cand(`new${i}`))];
    const history = new Map(cs.slice(0, 10).map((c) => [c.participantId, seen(c.participantId, {})]));
    const selector = createOortSelector(parseOortOptions({ explorationFactor: 0.9, explorationDecay: 0.9, minExploration: 0.2 }));
    const random = createSeededRandom(7);
    let explored = 0;
    // 400 buffers of 5 one-participant dispatches: ε reaches its floor 0.2 after ~22 buffers.
    for (let call = 0; call < 2000; call++) {
      const r = selector.select({ candidates: cs, count: 1, round: 1 + Math.floor(call / 5), random, history, deadlineMs: 60_000, examplesPerRound: () => 100 });
      if (call >= 500 && r.reasons[0]!.kind === 'explore') explored += 1;
    }

    expect(selector.exportState!()).toEqual({ epsilon: 0.2, round: 400 });
    expect(explored / 1500).toBeGreaterThan(0.16);
    expect(explored / 1500).toBeLessThan(0.24);
  });

  it('takes back a saved ε and the round it belongs to (a restart goes on decaying from there)', () => {
    const selector = createOortSelector(parseOortOptions({ explorationDecay: 0.5, minExploration: 0.1 }));
    selector.importState!({ epsilon: 0.4, round: 7 });
    const pick = (round: number) => selector.select({ candidates: [cand('a')], count: 1, round, random: createSeededRandom(1), history: new Map(), deadlineMs: 1, examplesPerRound: () => 1 });

    pick(7);
    expect(selector.exportState!()).toEqual({ epsilon: 0.4, round: 7 });
    pick(8);
    expect(selector.exportState!()).toEqual({ epsilon: 0.2, round: 8 });
    selector.importState!({ epsilon: 7, round: -1 });
    expect(selector.exportState!()).toEqual({ epsilon: 0.2, round: 8 });
  });

  it("paces T (Oort's pacer): when a window's reported utility falls below the one before, the next rounds prefer slower devices too", () => {
    // Ten devices, 1 s … 10 s per round, all with the same loss. T starts at the 0.1 quantile (1 s).
    const cs = Array.from({ length: 10 }, (_, i) => cand(`d${i + 1}`));
    const history = new Map(cs.map((c, i) => [c.participantId, seen(c.participantId, { lastDurationMs: (i + 1) * 1000, lastRound: 0 })]));
    const selector = createOortSelector(parseOortOptions({ durationQuantile: 0.1, pacerWindow: 2, pacerStep: 0.5, cutoff: 1, explorationFactor: 0, minExploration: 0 }));
    // Each round: its participants report `loss`; the selector hears of it when the next round selects.
    const round = (r: number, loss: number) => {
      const picked = selector.select({ candidates: cs, count: 2, round: r, random: createSeededRandom(r), history, deadlineMs: 60_000, examplesPerRound: () => 100 });
      for (const c of picked.picked) Object.assign(history.get(c.participantId)!, { lastRound: r, lastLoss: loss });
    };
    const utilityOf = (reasons: { participantId: string; utility?: number }[], id: string) => reasons.find((x) => x.participantId === id)?.utility;

    // Rounds 1–4 at a steady loss: the second window's sum equals the first, T stays 1 s.
    for (let r = 1; r <= 4; r++) round(r, 1);
    round(5, 0.5);
    expect(selector.exportState!()).toMatchObject({ pacer: { relaxed: 0 } });
    // Rounds 5–6 report less than rounds 3–4: T relaxes to the 0.6 quantile (6 s).
    round(6, 0.5);
    round(7, 0.5);
    expect(selector.exportState!()).toMatchObject({ pacer: { relaxed: 1 } });

    // A 6 s device: penalized by (1/6)² before, not at all once T is 6 s (scores are relative to the best).
    const d6 = seen('d6', { lastDurationMs: 6000 });
    const probe = (relaxedBy: number) => {
      const s = createOortSelector(parseOortOptions({ durationQuantile: 0.1, pacerWindow: 2, pacerStep: 0.5, cutoff: 1, explorationFactor: 0, minExploration: 0 }));
      s.importState!({ epsilon: 0, round: 7, pacer: { relaxed: relaxedBy, sums: [] } });
      const h = new Map(cs.map((c, i) => [c.participantId, seen(c.participantId, { lastDurationMs: (i + 1) * 1000 })]));
      h.set('d6', d6);
      const r = s.select({ candidates: cs, count: 10, round: 7, random: createSeededRandom(1), history: h, deadlineMs: 60_000, examplesPerRound: () => 100 });
      return utilityOf(r.reasons, 'd6')! / utilityOf(r.reasons, 'd1')!;
    };
    expect(probe(0)).toBeCloseTo((1 / 6) ** 2, 5);
    expect(probe(1)).toBeCloseTo(1, 5);
  });

  it('keeps the pacer across a restart and ignores a malformed saved pacer', () => {
    const options = parseOortOptions({ pacerWindow: 3 });
    const a = createOortSelector(options);
    a.importState!({ epsilon: 0.5, round: 9, pacer: { relaxed: 2, sums: [1, 2] } });
    expect(a.exportState!()).toEqual({ epsilon: 0.5, round: 9, pacer: { relaxed: 2, sums: [1, 2] } });
    a.importState!({ pacer: { relaxed: -1, sums: [Number.NaN] } });
    expect(a.exportState!()).toEqual({ epsilon: 0.5, round: 9, pacer: { relaxed: 2, sums: [1, 2] } });
    // Off (the default): nothing about a pacer is stored.
    expect(createOortSelector(parseOortOptions({})).exportState!()).toEqual({ epsilon: 0.9, round: 0 });
  });

  it('with diversity covers where the updates point: one of two look-alikes and the different one, not both look-alikes', () => {
    const cs = ['a1', 'a2', 'b'].map((id) => cand(id));
    const history = [seen('a1', { lastLoss: 2, signature: [1, 0] }), seen('a2', { lastLoss: 2, signature: [0.995, 0.0998] }), seen('b', { lastLoss: 1.5, signature: [0, 1] })];
    const options = { cutoff: 1, explorationFactor: 0, minExploration: 0 };

    const ids = (o: Record<string, unknown>) => run(o, cs, history, 2).picked.map((c) => c.participantId).sort();
    expect(ids(options)).toEqual(['a1', 'a2']);
    // a2 leans a little towards b, so it covers a little more than a1 does.
    expect(ids({ ...options, diversity: 1 })).toEqual(['a2', 'b']);
    expect(ids({ ...options, diversity: 0.5 })).toEqual(['a2', 'b']);
  });

  it('with diversity lets a fast look-alike stand in for a slow participant with more to teach', () => {
    const cs = ['slowA', 'fastA', 'b'].map((id) => cand(id));
    const history = [seen('slowA', { lastLoss: 6, lastDurationMs: 10_000, signature: [1, 0] }), seen('fastA', { signature: [0.99, 0.141] }), seen('b', { signature: [0, 1] })];
    // A mild deadline penalty: (1000 / 10000)^0.3 ≈ 0.5 leaves the slow one Oort's first pick.
    const options = { cutoff: 1, explorationFactor: 0, minExploration: 0, preferredDurationMs: 1000, roundPenalty: 0.3 };

    expect(run(options, cs, history, 2).picked.map((c) => c.participantId)).toContain('slowA');
    const covering = run({ ...options, diversity: 1 }, cs, history, 2);
    expect(covering.picked.map((c) => c.participantId)).toEqual(['fastA', 'b']);
    // The reasons give the value each was picked with, in pick order.
    expect(covering.reasons[0]!.utility).toBeGreaterThan(covering.reasons[1]!.utility!);
    expect(covering.reasons.every((r) => r.kind === 'exploit')).toBe(true);
  });

  it('refuses a bad option with INVALID_CONFIG naming it', () => {
    expect(() => parseOortOptions({ pacerWindow: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining('pacerWindow') }));
    expect(() => parseOortOptions({ fairness: 2 })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining('fairness') }));
    expect(() => parseOortOptions({ diversity: 1.5 })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining('diversity') }));
    expect(() => parseOortOptions({ speed: 1 })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });
});
