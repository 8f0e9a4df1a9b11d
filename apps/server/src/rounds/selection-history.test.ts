import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Capabilities } from '@chorus/core';
import { caps, createHarness, invited } from './engine-test-kit.js';
import { SelectionTracker } from './selection-tracker.js';

const silent = pino({ level: 'silent' });

describe('client selection in the round engine', () => {
  it("keeps each participant's history under its pseudonymous id and the round's picks with their reasons", async () => {
    const h = await createHarness({ rounds: { targetClients: 2, minClients: 1, overSelection: 1.5, minAvailable: 3 }, task: { selection: { id: 'oort', options: {} } } });
    const ids = [await h.connect(0, { ...caps(), samplesPerSecond: 50 }), await h.connect(1, { ...caps(), samplesPerSecond: 60 }), await h.connect(2, { ...caps(), samplesPerSecond: 70 })];
    const round1 = invited(h.transport);
    expect(round1).toHaveLength(3);

    h.clock.advance(400);
    h.send(Number(round1[0]!.slice(1)), [0.1, 0.1, 0.1, 0.1], { numExamples: 100 });
    h.send(Number(round1[1]!.slice(1)), [0.1, 0.1, 0.1, 0.1], { numExamples: 100 });
    await h.engine.idle();

    const rows = await h.storage.loadParticipantHistory!('t1');
    expect(rows.map((r) => r.participantId).sort()).toEqual([...ids].sort());
    const byId = new Map(rows.map((r) => [r.participantId, r]));
    const done = byId.get(h.participantId(Number(round1[0]!.slice(1))))!;
    // Round 2 opened at once and invited all three again.
    expect(done).toMatchObject({ invited: 2, completed: 1, dropped: 0, lastExamples: 100, lastDurationMs: 400, lastRound: 2 });
    // The third was still working when the round reached its target: slow, not unreliable.
    expect(byId.get(h.participantId(Number(round1[2]!.slice(1))))).toMatchObject({ invited: 2, completed: 0, dropped: 0, lastDurationMs: 400 });
    const picks = await h.storage.getRoundSelection!('t1', 1);
    expect(picks?.policy).toBe('oort');
    expect(picks?.reasons.map((r) => r.kind)).toEqual(['explore', 'explore', 'explore']);
    expect(picks?.reasons.map((r) => r.speed).sort()).toEqual([50, 60, 70]);
    const second = await h.storage.getRoundSelection!('t1', 2);
    expect(second?.reasons.map((r) => r.kind)).toEqual(['exploit', 'exploit', 'exploit']);
    expect(second?.reasons.every((r) => r.utility! > 0 && r.reliability! > 0 && r.expectedMs === 400)).toBe(true);
  });

  it('refuses a task with an unknown policy or bad options before storing it', async () => {
    await expect(createHarness({ task: { selection: { id: 'fastest', options: {} } } })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(createHarness({ task: { selection: { id: 'oort', options: { fairness: -1 } } } })).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringContaining('fairness') });
  });

  it("keeps each participant's update signature only while the policy ranks by coverage (Oort's diversity), and refuses coverage with secure aggregation", async () => {
    const signatures = async (options: Record<string, unknown>) => {
      const h = await createHarness({ rounds: { targetClients: 2, minClients: 1, overSelection: 1, minAvailable: 2 }, task: { selection: { id: 'oort', options } } });
      await h.connect(0);
      await h.connect(1);
      h.send(0, [0.3, -0.3, -0.4, 0.4], { numExamples: 100 });
      h.send(1, [1, -1, 1, -1], { numExamples: 100 });
      await h.engine.idle();
      const rows = await h.storage.loadParticipantHistory!('t1');
      return Object.fromEntries(rows.map((r) => [r.participantId === h.participantId(0) ? 'c0' : 'c1', r.signature]));
    };

    const kept = await signatures({ diversity: 0.5 });
    // The layout's last (here only) tensor less its mean (0 here), scaled to unit length.
    expect(kept.c0!.map((x) => Math.round(x * 1000) / 1000)).toEqual([0.424, -0.424, -0.566, 0.566]);
    expect(kept.c1).toEqual([0.5, -0.5, 0.5, -0.5]);
    expect(await signatures({})).toEqual({ c0: null, c1: null });
    const secure = { limits: { maxUpdateNorm: 1 }, secureAggregation: { neighbours: 4, threshold: 3, quantizationBits: 12, stageDeadlineMs: 1_000 } };
    await expect(createHarness({ task: { ...secure, selection: { id: 'oort', options: { diversity: 0.5 } } } })).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringContaining('selection.options.diversity') });
  });

  it("shows every participant an asynchronous buffer picked, not only the last dispatch's", async () => {
    const h = await createHarness({ rounds: { targetClients: 1, minClients: 1, deadlineMs: 60_000 }, task: { mode: 'async', async: { bufferSize: 5 }, selection: { id: 'oort', options: {} } } });
    // Each arrival is its own dispatch of one participant into buffer 1.
    const ids = [await h.connect(0, { ...caps(), samplesPerSecond: 50 }), await h.connect(1, { ...caps(), samplesPerSecond: 60 }), await h.connect(2, { ...caps(), samplesPerSecond: 70 })];
    await h.engine.idle();

    expect(invited(h.transport)).toEqual(['c0', 'c1', 'c2']);
    const picks = await h.storage.getRoundSelection!('t1', 1);
    expect(picks?.reasons.map((r) => r.participantId)).toEqual(ids);
    expect(picks?.reasons.map((r) => r.speed)).toEqual([50, 60, 70]);
  });

  it("takes Oort's ε back from storage after a restart instead of exploring as if new", async () => {
    const h = await createHarness({ start: false });
    const config = { id: 'oort', options: { explorationFactor: 0.8, explorationDecay: 0.5, minExploration: 0.1 } };
    const cand = (id: string) => ({ participantId: id, capabilities: { ...caps(), samplesPerSecond: 100 } as Capabilities });
    const old = Array.from({ length: 10 }, (_, i) => cand(`old${i}`));
    const fresh = Array.from({ length: 10 }, (_, i) => cand(`new${i}`));
    const context = { random: () => 0.5, deadlineMs: 60_000, examplesPerRound: () => 100 };
    const before = new SelectionTracker('t1', config, h.storage, silent);
    await before.load();
    // Rounds 1-4 among known participants: ε 0.8 → 0.4 → 0.2 → 0.1.
    for (let round = 1; round <= 4; round++) before.select(old, 10, round, context);
    await before.persist();

    const after = new SelectionTracker('t1', config, h.storage, silent);
    await after.load();
    const explored = after.select([...old, ...fresh], 10, 4, context).reasons.filter((r) => r.kind === 'explore');

    // ε 0.1 of 10 picks; a reset ε of 0.8 would explore 8.
    expect(explored).toHaveLength(1);
    expect(await h.storage.loadSelectorState!('t1')).toEqual({ epsilon: 0.1, round: 4 });

    // A stored state read after this process already picked is older: it does not wind ε back.
    await h.storage.saveSelectorState!('t1', { epsilon: 0.8, round: 1 });
    const late = new SelectionTracker('t1', config, h.storage, silent);
    for (let round = 1; round <= 3; round++) late.select(old, 10, round, context);
    await late.load();
    await late.persist();
    expect(await h.storage.loadSelectorState!('t1')).toEqual({ epsilon: 0.2, round: 3 });
  });
});
