import { describe, expect, it } from 'vitest';
import { createHarness, invited } from './engine-test-kit.js';
import { IN_FLIGHT_REPORT_MS } from './task-runner.js';

describe('open upload slots across server processes (the coordinator weighs what each runs)', () => {
  it('lets every process run only what the round needs less what the others run, forgets a quiet report, and ignores other rounds', async () => {
    // Prepare: a round that needs 4 updates, coordinated here; processes p2 and p3 hold other participants.
    const h = await createHarness({ start: false, rounds: { targetClients: 4, minClients: 2, minAvailable: 4, overSelection: 1.5, deadlineMs: 60_000 } });
    for (let i = 0; i < 6; i++) await h.connect(i);
    await h.engine.start('t1');
    const roundId = h.engine.summary('t1').currentRound!.roundId;
    const slots = (from: string, inFlight: number) => h.engine.answer('t1', { kind: 'slots', roundId, inFlight }, from);

    // Execute + Assert: p2 runs 3 uploads; p3 may then run 1, p2 itself 4 (its own count is not held against it).
    expect(await slots('p2', 3)).toEqual({ openSlots: 4 });
    expect(await slots('p3', 0)).toEqual({ openSlots: 1 });
    // This process (the coordinator) runs one: nothing is left for p3, and this process's gate may run 1.
    h.engine.uploadsRunning('t1', roundId, 1);
    expect(await slots('p3', 0)).toEqual({ openSlots: 0 });
    expect(h.engine.openSlots('t1', roundId)).toBe(1);
    // One update accepted here: the round needs 3, this process runs none, p2 still 3.
    const local = Number(invited(h.transport)[0]!.slice(1));
    expect(h.send(local, [0, 0, 0, 1])).toEqual({ accepted: true });
    h.engine.uploadsRunning('t1', roundId, 0);
    expect(await slots('p3', 0)).toEqual({ openSlots: 0 });
    // p2 goes quiet (its uploads may have failed without a word): after IN_FLIGHT_REPORT_MS its report no longer holds slots.
    h.clock.advance(IN_FLIGHT_REPORT_MS + 1);
    expect(await slots('p3', 0)).toEqual({ openSlots: 3 });
    expect(h.engine.openSlots('t1', roundId)).toBe(3);
    // A round that is over lets nothing more run (its waiters hear ROUND_CLOSED), and its report changes nothing.
    expect(await h.engine.answer('t1', { kind: 'slots', roundId: 'old-round', inFlight: 5 }, 'p2')).toEqual({ openSlots: 0 });
    expect(h.engine.openSlots('t1', roundId)).toBe(3);
    await h.engine.close();
  });
});
