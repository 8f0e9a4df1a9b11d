import { describe, expect, it } from 'vitest';
import { ChorusError, createRdpAccountant, encodePayload, type ModelUpdated } from '@chorus/core';
import { createHarness, invited, update, type Harness } from './engine-test-kit.js';

const idx = (conn: string) => Number(conn.slice(1));

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return ChorusError.from(err).code;
  }
  return 'no error';
}

/** Connects n clients and returns the indices of the invited ones. */
async function roundWith(h: Harness, n: number): Promise<number[]> {
  for (let i = 1; i <= n; i++) await h.connect(i);
  return invited(h.transport).map(idx);
}

describe('RoundEngine round lifecycle', () => {
  it('invites ceil(target × overSelection) of the eligible clients once enough are connected', async () => {
    const h = await createHarness({ rounds: { minAvailable: 5 } });
    await h.connect(1, { backend: 'wasm', numExamples: 0 }); // not eligible: no examples

    for (let i = 2; i <= 5; i++) await h.connect(i);

    expect(invited(h.transport)).toHaveLength(0);
    await h.connect(6);
    const invites = h.transport.of('round:invite');
    expect(invites).toHaveLength(4); // ceil(3 × 1.3)
    expect(invites.map((s) => s.to)).not.toContain('c1');
    expect(invites[0]!.msg).toMatchObject({ taskId: 't1', roundId: 't1-r1', round: 1, version: 0, deadline: h.clock.now() + 1000, codec: 'float32' });
    expect(h.engine.summary('t1').phase).toBe('collecting');
  });

  it('closes at targetClients accepted updates, commits the weighted mean and broadcasts the new version', async () => {
    const h = await createHarness({ rounds: { minAvailable: 4 } });
    const [a, b, c, d] = await roundWith(h, 4);

    expect(h.send(a!, [1, 1, 1, 1], { numExamples: 10 })).toEqual({ accepted: true });
    h.send(b!, [2, 2, 2, 2], { numExamples: 10 });
    h.send(c!, [0, 0, 0, 4], { numExamples: 20 });
    await h.engine.idle();

    const state = () => h.engine.summary('t1');
    expect(state().version).toBe(1);
    // global [1,2,3,4] + (10·[1,1,1,1] + 10·[2,2,2,2] + 20·[0,0,0,4]) / 40
    expect([...h.engine.globalWeights('t1')]).toEqual([1.75, 2.75, 3.75, 6.75]);
    expect(h.transport.of('round:cancel').map((s) => [s.to, s.msg.roundId])).toEqual([[`c${d}`, 't1-r1']]);
    const updated = h.transport.of('model:updated');
    expect(updated.map((s) => [s.to, s.msg.version, s.msg.round])).toEqual([['task:t1', 1, 1]]);
    expect(updated[0]!.msg.metrics).toMatchObject({ updates: 3, examples: 40 });
    const latest = await h.storage.latestVersion('t1');
    expect([latest!.version, latest!.round]).toEqual([1, 1]);
    const round = (await h.storage.listRounds('t1', 5)).find((r) => r.round === 1);
    expect([round!.state, round!.participants, round!.selected]).toEqual(['committed', 3, 4]);
    expect((await h.storage.listReceipts('t1', 1)).map((r) => r.accepted)).toEqual([true, true, true]);
    // The next round starts straight away on the new version.
    expect(h.transport.of('round:invite').at(-1)!.msg).toMatchObject({ roundId: 't1-r2', version: 1 });
  });

  it('waits roundIntervalMs after a committed round before inviting again', async () => {
    // Prepare
    const h = await createHarness({ rounds: { minAvailable: 3, targetClients: 3, overSelection: 1, roundIntervalMs: 5_000 } });
    const [a, b, c] = await roundWith(h, 3);
    // Execute
    for (const i of [a!, b!, c!]) h.send(i, [0, 0, 0, 1]);
    await h.engine.idle();
    const afterCommit = h.transport.of('round:invite').length;
    h.clock.advance(4_999);
    const beforeInterval = h.transport.of('round:invite').length;
    h.clock.advance(1);
    // Assert
    expect(h.engine.summary('t1').version).toBe(1);
    expect([afterCommit, beforeInterval]).toEqual([3, 3]);
    expect(h.transport.of('round:invite').slice(3).map((s) => s.msg.roundId)).toEqual(['t1-r2', 't1-r2', 't1-r2']);
  });

  it('commits at the deadline with a quorum, listing the silent clients as DEADLINE failures', async () => {
    const h = await createHarness({ rounds: { minAvailable: 4 } });
    const [a, b] = await roundWith(h, 4);
    h.send(a!, [1, 1, 1, 1]);
    h.send(b!, [3, 3, 3, 3]);

    h.clock.advance(1000);
    await h.engine.idle();

    expect([...h.engine.globalWeights('t1')]).toEqual([3, 4, 5, 6]);
    const round = (await h.storage.listRounds('t1', 5)).find((r) => r.round === 1)!;
    expect(round.state).toBe('committed');
    expect(round.failures.map((f) => f.code)).toEqual(['DEADLINE', 'DEADLINE']);
  });

  it('abandons a round without quorum at the deadline, keeps its receipts and retries after the delay', async () => {
    const h = await createHarness({ rounds: { minAvailable: 4 } });
    const [a] = await roundWith(h, 4);
    h.send(a!, [1, 1, 1, 1]);

    h.clock.advance(1000);
    await h.engine.idle();

    expect(h.engine.summary('t1').version).toBe(0);
    const [round] = await h.storage.listRounds('t1', 1);
    expect([round!.state, round!.abandonReason]).toEqual(['abandoned', 'only 1 of the minimum 2 updates arrived before the round closed']);
    expect((await h.storage.listReceipts('t1', 1)).map((r) => [r.accepted, r.bytes > 0])).toEqual([[true, true]]);
    expect(h.transport.of('round:invite')).toHaveLength(4);

    h.clock.advance(500);

    expect(h.transport.of('round:invite').slice(4).map((s) => s.msg.roundId)).toEqual(['t1-r2', 't1-r2', 't1-r2', 't1-r2']);
  });

  it('counts a selected client that disconnects as DISCONNECTED, and re-invites it when it comes back', async () => {
    const h = await createHarness({ rounds: { minAvailable: 4 } });
    const [a, b, c] = await roundWith(h, 4);
    h.engine.detach(`c${a}`);
    h.engine.detach(`c${b}`);

    const back = await h.connect(b!, undefined, h.participantId(b!));
    const reinvite = h.transport.of('round:invite').at(-1)!;
    h.send(b!, [1, 1, 1, 1]);
    h.send(c!, [1, 1, 1, 1]);
    h.clock.advance(1000);
    await h.engine.idle();

    expect([reinvite.to, reinvite.msg.roundId]).toEqual([`c${b}`, 't1-r1']);
    expect(back).toMatch(/^[0-9a-f-]{36}$/);
    const round = (await h.storage.listRounds('t1', 5)).find((r) => r.round === 1)!;
    expect([round.state, round.participants]).toEqual(['committed', 2]);
    expect(round.failures.map((f) => f.code).sort()).toEqual(['DEADLINE', 'DISCONNECTED']);
  });

  it('answers stale, unselected, duplicate, late and oversize updates with their error codes', async () => {
    const h = await createHarness({ rounds: { minAvailable: 5, targetClients: 2, overSelection: 1 } });
    const chosen = await roundWith(h, 5);
    const [a, b] = chosen;
    const outsider = [1, 2, 3, 4, 5].find((i) => !chosen.includes(i))!;
    const roundId = 't1-r1';

    expect(codeOf(() => h.send(a!, [1, 1, 1, 1], { version: 7 }))).toBe('STALE_VERSION');
    expect(codeOf(() => h.send(outsider, [1, 1, 1, 1]))).toBe('NOT_SELECTED');
    expect(codeOf(() => h.engine.beginUpdate(`c${a}`, { taskId: 't1', roundId, version: 0, numExamples: 1, byteLength: 10_000_000, metrics: {} }))).toBe('PAYLOAD_TOO_LARGE');
    expect(codeOf(() => h.engine.beginUpdate('c99', { taskId: 't1', roundId, version: 0, numExamples: 1, byteLength: 10, metrics: {} }))).toBe('FORBIDDEN');
    h.send(a!, [1, 1, 1, 1]);
    expect(codeOf(() => h.send(a!, [1, 1, 1, 1]))).toBe('DUPLICATE_UPDATE');
    const wrongShape = encodePayload({ layout: [{ name: 'dense/kernel', shape: [5] }], values: new Float32Array(5) }, 'float32');
    expect(codeOf(() => h.engine.submitUpdate(`c${b}`, { taskId: 't1', roundId, version: 0, numExamples: 1, byteLength: wrongShape.byteLength, metrics: {} }, wrongShape))).toBe('SHAPE_MISMATCH');
    // b's malformed upload used its turn, so a alone cannot reach quorum: the deadline abandons the round.
    h.clock.advance(1000);
    await h.engine.idle();
    expect(codeOf(() => h.send(a!, [1, 1, 1, 1], { roundId, version: 0 }))).toBe('ROUND_CLOSED');
    // An upload that began in time but ended after the close is refused and its receipt kept.
    const late = update([1, 1, 1, 1]);
    expect(codeOf(() => h.engine.submitUpdate(`c${b}`, { taskId: 't1', roundId, version: 0, numExamples: 1, byteLength: late.byteLength, metrics: {} }, late))).toBe('ROUND_CLOSED');
    await h.engine.idle();

    const receipts = await h.storage.listReceipts('t1', 1);
    expect(receipts.map((r) => [r.accepted, r.code])).toEqual([
      [true, null],
      [false, 'SHAPE_MISMATCH'],
      [false, 'ROUND_CLOSED'],
    ]);
  });

  it('pause abandons the open round and cancels its invites; resume starts a new round; maxRounds completes the task', async () => {
    const h = await createHarness({ rounds: { minAvailable: 2, targetClients: 2, overSelection: 1, maxRounds: 1 } });
    await roundWith(h, 2);

    await h.engine.pause('t1');

    expect(h.transport.of('round:cancel').map((s) => s.msg.reason)).toEqual(['round abandoned: task paused by the operator', 'round abandoned: task paused by the operator']);
    expect((await h.storage.getTask('t1'))!.status).toBe('paused');
    expect(codeOf(() => h.send(1, [1, 1, 1, 1], { roundId: 't1-r1' }))).toBe('ROUND_CLOSED');

    await h.engine.resume('t1');
    h.send(1, [1, 1, 1, 1]);
    h.send(2, [1, 1, 1, 1]);
    await h.engine.idle();

    expect(h.engine.summary('t1').version).toBe(1);
    expect((await h.storage.getTask('t1'))!.status).toBe('completed');
    expect(h.transport.of('task:status').map((s) => s.msg.status)).toEqual(['running', 'paused', 'running', 'completed']);
    await expect(h.engine.start('t1')).rejects.toMatchObject({ code: 'TASK_NOT_RUNNING' });
  });

  it('resumes from the latest committed version after a restart and abandons the round that was open', async () => {
    const first = await createHarness({ rounds: { minAvailable: 2, targetClients: 2, overSelection: 1 } });
    await roundWith(first, 2);
    first.send(1, [2, 2, 2, 2]);
    first.send(2, [2, 2, 2, 2]);
    await first.engine.idle();
    expect(first.engine.summary('t1').currentRound!.roundId).toBe('t1-r2'); // open when the "crash" happens

    const second = await createHarness({ storage: first.storage, create: false });

    const state = () => second.engine.summary('t1');
    expect([state().version, [...second.engine.globalWeights('t1')], state().status]).toEqual([1, [3, 4, 5, 6], 'running']);
    const rounds = await second.storage.listRounds('t1', 5);
    expect(rounds.map((r) => [r.round, r.state, r.abandonReason])).toEqual([
      [2, 'abandoned', 'server restart'],
      [1, 'committed', null],
    ]);
    await second.connect(1);
    await second.connect(2);
    expect(second.transport.of('round:invite')[0]!.msg).toMatchObject({ roundId: 't1-r3', version: 1 });
  });

  it('stores central evaluation metrics with the version and sends them in model:updated', async () => {
    const seen: number[][] = [];
    const h = await createHarness({
      rounds: { minAvailable: 2, targetClients: 2, overSelection: 1 },
      evaluate: async (_task, weights) => {
        seen.push([...weights]);
        return { accuracy: 0.5, loss: 1.25 };
      },
    });
    await roundWith(h, 2);
    h.send(1, [1, 1, 1, 1]);
    h.send(2, [1, 1, 1, 1]);
    await h.engine.idle();

    expect(seen).toEqual([[2, 3, 4, 5]]);
    expect(h.transport.of('model:updated')[0]!.msg.metrics).toMatchObject({ accuracy: 0.5, loss: 1.25, updates: 2 });
    expect((await h.storage.getVersion('t1', 1))!.metrics).toMatchObject({ accuracy: 0.5, loss: 1.25 });
    expect((await h.storage.listRounds('t1', 5)).find((r) => r.round === 1)!.metrics).toMatchObject({ accuracy: 0.5 });
  });
});

describe('RoundEngine with a privacy budget', () => {
  it('completes the task instead of opening a round that would overspend epsilon', async () => {
    // Prepare: a budget that fits one DP round (q = 1, σ = 2) but not two.
    const acc = createRdpAccountant({ noiseMultiplier: 2, sampleRate: 1, delta: 1e-5 });
    const budget = (acc.epsilonAfter(1) + acc.epsilonAfter(2)) / 2;
    const dp = { clipNorm: 1, noiseMultiplier: 2, sampleRate: 1, targetDelta: 1e-5, epsilonBudget: budget };
    const h = await createHarness({ rounds: { minAvailable: 3 }, strategy: { id: 'fedavg', options: { dp } } });
    const [a, b, c] = await roundWith(h, 3);
    // Execute: round 1 commits.
    h.send(a!, [0.1, 0, 0, 0]);
    h.send(b!, [0, 0.1, 0, 0]);
    h.send(c!, [0, 0, 0.1, 0]);
    await h.engine.idle();
    // Assert
    const state = () => h.engine.summary('t1');
    expect(state().version).toBe(1);
    const updated = h.transport.of('model:updated')[0]!.msg as ModelUpdated;
    expect(updated.metrics.epsilon).toBeCloseTo(acc.epsilonAfter(1), 6);
    expect(state().status).toBe('completed');
    expect(state().phase).toBe('idle');
    expect(h.transport.of('round:invite').filter((s) => s.msg.round === 2)).toHaveLength(0);
    expect((await h.storage.getTask('t1'))?.status).toBe('completed');
  });
});
