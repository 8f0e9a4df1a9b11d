import { describe, expect, it } from 'vitest';
import type { Coordination, CoordinatorRequest } from './coordination.js';
import { createHarness, update } from './engine-test-kit.js';

/**
 * A process that does not coordinate the task, on several processes: once the coordinator has taken
 * its partial sum of a round, that round is closing, and the late upload begins and uploads of its
 * participants are refused here instead of being asked of the coordinator while it closes.
 */
function follower(): { coordination: Coordination; asked: CoordinatorRequest['kind'][] } {
  const asked: CoordinatorRequest['kind'][] = [];
  const coordination: Coordination = {
    coordinates: () => false,
    tell: () => undefined,
    ask: (async (_taskId: string, request: CoordinatorRequest, onAnswer?: (a: unknown) => void) => {
      asked.push(request.kind);
      const answers: Partial<Record<CoordinatorRequest['kind'], unknown>> = {
        check: { bound: null, partial: true, openSlots: 5 },
        slots: { openSlots: 5 },
        admit: { accepted: true },
      };
      const answer = answers[request.kind];
      if (answer === undefined) throw new Error(`unexpected ${request.kind}`);
      onAnswer?.(answer);
      return answer;
    }) as Coordination['ask'],
    partialOf: async () => ({ count: 0, examples: 0, participants: [], sum: new Float32Array(0), metrics: {} }),
    present: () => undefined,
    changed: () => undefined,
    delivered: async () => undefined,
    committed: () => undefined,
    created: () => undefined,
  };
  return { coordination, asked };
}

const begin = (roundId: string, byteLength: number) => ({ taskId: 't1', roundId, version: 0, numExamples: 10, byteLength, metrics: {} });

describe('late uploads of a round whose partial sum was taken', () => {
  it('are refused ROUND_CLOSED here without asking the coordinator; the next round is asked again', async () => {
    // Prepare: a follower with one participant, whose upload for r1 was checked and admitted (folded here).
    const h = await createHarness({ start: false });
    await h.connect(0);
    await h.connect(1);
    const { coordination, asked } = follower();
    h.engine.useCoordination(coordination);
    const bytes = update([1, 1, 1, 1]);
    await h.engine.checkUpload('c0', begin('t1-r1', bytes.byteLength));
    await expect(h.engine.submitUpload('c0', begin('t1-r1', bytes.byteLength), bytes)).resolves.toEqual({ accepted: true });

    // Execute: the coordinator takes the round's partial sum (it is closing r1).
    const partial = await h.engine.answer('t1', { kind: 'partial', roundId: 't1-r1', admitted: 1 });
    const before = asked.length;

    // Assert: the sum held the admitted update; r1's late begin, upload and slot refresh are answered
    // here (ROUND_CLOSED, no slots) with nothing asked; a begin for r2 goes to the coordinator again.
    expect(partial).toMatchObject({ count: 1, examples: 10 });
    await expect(h.engine.checkUpload('c1', begin('t1-r1', bytes.byteLength))).rejects.toMatchObject({ code: 'ROUND_CLOSED' });
    await expect(h.engine.submitUpload('c1', begin('t1-r1', bytes.byteLength), bytes)).rejects.toMatchObject({ code: 'ROUND_CLOSED' });
    await h.engine.refreshSlots('t1', 't1-r1');
    expect(h.engine.openSlots('t1', 't1-r1')).toBe(0);
    expect(asked.slice(before)).toEqual([]);
    await h.engine.checkUpload('c1', begin('t1-r2', bytes.byteLength));
    expect(asked.slice(before)).toEqual(['check']);
    await h.engine.close();
  });
});
