import { describe, expect, it } from 'vitest';
import type { PartialSum } from './coordination.js';
import type { TaskRunner } from './task-runner.js';
import { createHarness, invited } from './engine-test-kit.js';

/** The engine's runner of a task (private there: the handover is the one caller in the product). */
const runnerOf = (engine: unknown, taskId: string): TaskRunner => (engine as { runner(id: string): TaskRunner }).runner(taskId);

/** A surviving process's partial sum of the abandoned round: Σ nᵢuᵢ of whose updates it folded. */
const sum = (participants: string[], values: number[], examples: number): PartialSum => ({ count: participants.length, examples, participants, sum: Float32Array.from(values), metrics: { loss: { sum: 2 * examples, weight: examples } } });

describe('a round restarted after a failover adopts the partial sums the survivors held', () => {
  it('counts the adopted updates, invites only for the rest (never the adopted participants) and commits the mean of all', async () => {
    // Prepare: five participants; the survivors held c0's and c1's updates ([1,1,1,1] and [2,2,2,2], 10 examples each).
    const h = await createHarness({ start: false, rounds: { targetClients: 3, minClients: 2, minAvailable: 3, overSelection: 1 } });
    for (let i = 0; i < 5; i++) await h.connect(i);
    const adopted = runnerOf(h.engine, 't1').adoptPartials([sum([h.participantId(0), h.participantId(1)], [30, 30, 30, 30], 20)], 0);

    // Execute
    await h.engine.start('t1');
    const invites = invited(h.transport);
    expect(h.send(Number(invites[0]!.slice(1)), [0, 0, 0, 4], { numExamples: 20 })).toEqual({ accepted: true });
    await h.engine.idle();

    // Assert: one invite (3 − 2 adopted), to neither adopted participant; version 1 is the example-weighted
    // mean of all three updates, (30 + 0, …, 30 + 80) / 40 added to [1, 2, 3, 4]; the round counts three.
    expect(adopted).toBe(2);
    expect(invites).toHaveLength(1);
    expect(invites).not.toContain('c0');
    expect(invites).not.toContain('c1');
    expect([...h.engine.globalWeights('t1')]).toEqual([1.75, 2.75, 3.75, 6.75]);
    const round = (await h.storage.listRounds('t1', 10)).find((r) => r.round === 1);
    expect([round!.state, round!.participants, round!.selected]).toEqual(['committed', 3, 1]);
    expect(round!.metrics).toMatchObject({ updates: 3, examples: 40 });
    await h.engine.close();
  });

  it('commits on the adopted updates alone when they already make the round', async () => {
    const h = await createHarness({ start: false, rounds: { targetClients: 2, minClients: 2, minAvailable: 2, overSelection: 1.3 } });
    for (let i = 0; i < 3; i++) await h.connect(i);
    runnerOf(h.engine, 't1').adoptPartials([sum([h.participantId(0)], [10, 10, 10, 10], 10), sum([h.participantId(1)], [30, 30, 30, 30], 10)], 0);

    await h.engine.start('t1');
    await h.engine.idle();

    // Nobody is asked; version 1 = [1, 2, 3, 4] + 40 / 20.
    expect(invited(h.transport).filter((to) => h.transport.of('round:invite').find((s) => s.to === to)!.msg.round === 1)).toEqual([]);
    expect([...h.engine.globalWeights('t1')]).toEqual([3, 4, 5, 6]);
    await h.engine.close();
  });

  it('adopts nothing from a round on an older version, for a robust aggregate, or when two sums name one participant', async () => {
    const h = await createHarness({ start: false, rounds: { targetClients: 3, minClients: 2, minAvailable: 3, overSelection: 1 } });
    for (let i = 0; i < 4; i++) await h.connect(i);
    const runner = runnerOf(h.engine, 't1');
    // Stale: the abandoned round trained on version 3, the task is at 0.
    expect(runner.adoptPartials([sum([h.participantId(0)], [1, 1, 1, 1], 10)], 3)).toBe(0);
    expect(() => runner.adoptPartials([sum([h.participantId(0)], [1, 1, 1, 1], 10), sum([h.participantId(0)], [1, 1, 1, 1], 10)], 0)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    await h.engine.start('t1');
    expect(invited(h.transport)).toHaveLength(3);
    await h.engine.close();

    const median = await createHarness({ start: false, strategy: { id: 'fedavg', options: { aggregator: 'median' } } });
    for (let i = 0; i < 3; i++) await median.connect(i);
    expect(runnerOf(median.engine, 't1').adoptPartials([sum([median.participantId(0)], [1, 1, 1, 1], 10)], 0)).toBe(0);
    await median.engine.close();
  });
});
