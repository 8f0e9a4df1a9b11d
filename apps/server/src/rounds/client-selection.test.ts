import { describe, expect, it } from 'vitest';
import { createSelector, pickRandom, selectionPolicyRegistry, selectionSize, type SelectionCandidate } from './client-selection.js';

const candidates = (n: number): SelectionCandidate[] => Array.from({ length: n }, (_, i) => ({ participantId: `p${i}`, capabilities: { backend: 'wasm', numExamples: 10 } }));
const input = (cs: SelectionCandidate[], count: number, random: () => number = () => 0) => ({ candidates: cs, count, round: 1, random, history: new Map(), deadlineMs: 1000, examplesPerRound: () => 10 });

describe('client selection', () => {
  it('over-selects by the factor, capped by who is available', () => {
    expect([selectionSize(10, 1.3, 100), selectionSize(10, 1.3, 5)]).toEqual([13, 5]);
  });

  it('has the uniform policy registered from the start, picking distinct candidates at random', () => {
    const cs = candidates(4);
    const { picked, reasons } = selectionPolicyRegistry.require('uniform').create({}).select(input(cs, 3));
    expect(picked).toEqual(pickRandom(cs, 3, () => 0));
    expect(new Set(picked).size).toBe(3);
    expect(reasons.map((r) => r.kind)).toEqual(['uniform', 'uniform', 'uniform']);
    expect(selectionPolicyRegistry.list().map((p) => p.id)).toEqual(['uniform', 'oort']);
  });

  it('takes a new policy by id, makes a task selector from it, and lets it go again', () => {
    selectionPolicyRegistry.register({ id: 'first', description: 'the first n', create: () => ({ select: (i) => ({ picked: i.candidates.slice(0, i.count), reasons: [] }) }) });
    expect(createSelector({ id: 'first' }).select(input(candidates(3), 2)).picked.map((c) => c.participantId)).toEqual(['p0', 'p1']);
    expect(selectionPolicyRegistry.unregister('first')).toBe(true);
    expect(selectionPolicyRegistry.has('first')).toBe(false);
  });

  it('refuses an unknown policy with INVALID_CONFIG naming selection.id and the known ones', () => {
    expect(() => createSelector({ id: 'fastest' })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringMatching(/selection\.id: unknown client-selection policy "fastest" \(known: uniform, oort\)/) }));
  });
});
