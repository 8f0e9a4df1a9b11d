import { describe, expect, it } from 'vitest';
import { createStrategy } from '@chorus/core';
import { caps, createHarness, invited, LAYOUT, update } from './engine-test-kit.js';
import { partialSumUpdate } from './partial-sums.js';
import { TaskRunner, type RunnerHooks } from './task-runner.js';

describe('closing a round on several processes', () => {
  it('asks the other processes for their partial sums before it tells the outstanding clients', async () => {
    // Prepare: a coordinating runner (as on one of three processes), three invited for a target of two.
    const h = await createHarness({ start: false, rounds: { targetClients: 2, minClients: 2, minAvailable: 3, overSelection: 1.5 } });
    const task = (await h.storage.getTask('t1'))!;
    let cancelsWhenAsked: number | null = null;
    const hooks: RunnerHooks = {
      isBusyElsewhere: () => false,
      onRoundClosed: () => undefined,
      // Another process folded p0's update ([1, 1, 1, 1], 10 examples): its partial sum is 10 × that.
      collectPartials: async (_taskId, _roundId, layout, expected) => {
        cancelsWhenAsked = h.transport.of('round:cancel').length;
        expect([...expected]).toEqual([['p2', { count: 1, examples: 10 }]]);
        return [partialSumUpdate('partial-sum:p2', layout, { count: 1, examples: 10, participants: ['p0'], sum: Float32Array.of(10, 10, 10, 10), metrics: {} })];
      },
    };
    const runner = new TaskRunner(task, Float32Array.of(1, 2, 3, 4), 0, 0, createStrategy(task.config.strategy, LAYOUT), h.engine.deps, hooks);
    for (let i = 0; i < 3; i++) runner.addMember(`p${i}`, `c${i}`, caps());
    await runner.start();
    expect(invited(h.transport)).toHaveLength(3);
    const roundId = runner.summary().currentRound!.roundId;
    const bytes = update([3, 3, 3, 3]);
    const sub = (numExamples: number) => ({ taskId: 't1', roundId, version: 0, numExamples, byteLength: bytes.byteLength, metrics: {} });

    // Execute: p0's update admitted from process p2, then p1's arrives here and makes the target.
    expect(runner.admitPartial('p2', 'p0', sub(10), bytes.byteLength, { l2Norm: 2 })).toEqual({ accepted: true });
    expect(runner.submitUpdate('p1', sub(10), bytes)).toEqual({ accepted: true });
    for (let i = 0; i < 200 && runner.summary().version < 1; i++) await new Promise((r) => setTimeout(r, 5));

    // Assert: the partial sums were asked for with no cancel sent yet; the third invitee was then
    // cancelled, and version 1 is the mean of both updates, (1 + 3) / 2 = 2 added to [1, 2, 3, 4].
    expect(cancelsWhenAsked).toBe(0);
    expect(h.transport.of('round:cancel').map((s) => s.to)).toHaveLength(1);
    expect(runner.summary().version).toBe(1);
    expect([...runner.model().global]).toEqual([3, 4, 5, 6]);
    await runner.idle();
  });
});
