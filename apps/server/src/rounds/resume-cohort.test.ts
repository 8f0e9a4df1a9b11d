import { describe, expect, it } from 'vitest';
import type { TaskRunner } from './task-runner.js';
import { createHarness } from './engine-test-kit.js';

/** The engine's runner of a task (private there: the handover is the one caller in the product). */
const runnerOf = (engine: unknown, taskId: string): TaskRunner => (engine as { runner(id: string): TaskRunner }).runner(taskId);

describe('a round restarted after a failover', () => {
  it("invites the abandoned round's participants that are still here first, and the policy fills the rest", async () => {
    // Prepare: six participants; the abandoned round had invited c4, c5 and one who has since gone.
    const h = await createHarness({ start: false, rounds: { targetClients: 3, minClients: 2, minAvailable: 3, overSelection: 1 } });
    for (let i = 0; i < 6; i++) await h.connect(i);
    runnerOf(h.engine, 't1').resumeCohort([h.participantId(4), h.participantId(5), 'gone-since']);

    // Execute
    await h.engine.start('t1');

    // Assert: c4 and c5 invited (named 'resume'), one more picked by the policy; the next round is ordinary.
    const invited = h.transport.of('round:invite').map((s) => s.to);
    expect(invited).toHaveLength(3);
    expect(invited).toEqual(expect.arrayContaining(['c4', 'c5']));
    await h.engine.close();
    const picks = await h.storage.getRoundSelection!('t1', 1);
    expect(picks!.reasons.filter((r) => r.kind === 'resume').map((r) => r.participantId).sort()).toEqual([h.participantId(4), h.participantId(5)].sort());
    expect(picks!.reasons.filter((r) => r.kind !== 'resume')).toHaveLength(1);
  });
});
