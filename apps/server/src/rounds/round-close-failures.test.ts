import { describe, expect, it } from 'vitest';
import { createStrategy, type Strategy } from '@chorus/core';
import { SqliteStorage } from '../storage/sqlite-storage.js';
import type { Storage } from '../storage/storage.js';
import { corePayloadOps, createHarness, invited, type Harness } from './engine-test-kit.js';

/**
 * Every step of closing a round fails once, in turn. Whatever fails, the task must not stay in
 * 'aggregating': the round is abandoned with a recorded reason (or, after the checkpoint, the new
 * version stands), and the next round opens and commits.
 */

type Step =
  | 'finish' | 'applyAggregate' | 'nonFiniteModel' | 'exportState' | 'encode'
  | 'commitRound' | 'abandonRound' | 'evaluate' | 'addVersionMetrics'
  | 'broadcast' | 'cancel' | 'setTaskStatus' | 'configureFit' | 'openRound';

const injected = (step: string) => new Error(`injected failure: ${step}`);

function faultyStrategy(inner: Strategy, faults: Set<Step>): Strategy {
  return {
    ...inner,
    configureFit(round) {
      if (round > 1 && faults.delete('configureFit')) throw injected('configureFit');
      return inner.configureFit(round);
    },
    beginRound(ctx) {
      const agg = inner.beginRound(ctx);
      return {
        streaming: agg.streaming,
        add: (u) => agg.add(u),
        finish: (f) => {
          if (faults.delete('finish')) throw injected('finish');
          return agg.finish(f);
        },
      };
    },
    applyAggregate(global, result, round) {
      if (faults.delete('applyAggregate')) throw injected('applyAggregate');
      const next = inner.applyAggregate(global, result, round);
      if (faults.delete('nonFiniteModel')) next[0] = Number.POSITIVE_INFINITY;
      return next;
    },
    exportState() {
      if (faults.delete('exportState')) throw injected('exportState');
      return inner.exportState();
    },
  };
}

function faultyStorage(inner: Storage, faults: Set<Step>, hangs: Set<string>): Storage {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (hangs.delete(String(prop))) return new Promise(() => undefined);
        if (faults.delete(prop as Step)) return Promise.reject(injected(String(prop)));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** Faults are armed once the task is created and started (creating it encodes and saves too). */
async function setUp(armed: Set<Step>, hangs = new Set<string>(), rounds: Record<string, number> = {}): Promise<Harness> {
  const faults = armed;
  const steps = [...armed];
  faults.clear();
  const storage = faultyStorage(new SqliteStorage({ path: ':memory:' }), faults, hangs);
  const h = await createHarness({
    storage,
    rounds: { minAvailable: 3, targetClients: 2, overSelection: 1.5, minClients: 1, ...rounds },
    evaluate: async () => {
      if (hangs.delete('evaluate')) return new Promise(() => undefined);
      if (faults.delete('evaluate')) throw injected('evaluate');
      return { accuracy: 0.5 };
    },
    deps: {
      createStrategy: (config, layout) => faultyStrategy(createStrategy(config, layout), faults),
      payload: {
        ...corePayloadOps,
        encode: (flat, codec) => {
          if (faults.delete('encode')) throw injected('encode');
          return corePayloadOps.encode(flat, codec);
        },
      },
      closeTimeoutMs: 5_000,
    },
  });
  for (const step of steps) faults.add(step);
  for (const step of ['broadcast', 'cancel'] as const) {
    if (faults.delete(step)) h.transport.failOnce.add(step === 'broadcast' ? 'model:updated' : 'round:cancel');
  }
  for (let i = 1; i <= 3; i++) await h.connect(i);
  return h;
}

/** The two invited clients of the newest round send a small update each. */
function playRound(h: Harness): void {
  const roundId = h.engine.summary('t1').currentRound!.roundId;
  const conns = h.transport.of('round:invite').filter((s) => s.msg.roundId === roundId).map((s) => Number(s.to.slice(1)));
  for (const i of conns.slice(0, 2)) h.send(i, [0.1, 0.1, 0.1, 0.1]);
}

async function settle(h: Harness): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  h.clock.advance(500); // the engine's retry delay in the harness
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

describe('closing a round cannot get stuck', () => {
  const beforeCheckpoint: Step[] = ['finish', 'applyAggregate', 'nonFiniteModel', 'exportState', 'encode', 'commitRound'];
  for (const step of beforeCheckpoint) {
    it(`${step} fails: the round is abandoned with its reason, the last good version stays, the next round commits`, async () => {
      // Prepare
      const faults = new Set<Step>([step]);
      const h = await setUp(faults);
      // Execute
      playRound(h);
      await settle(h);
      const state = () => h.engine.summary('t1');
      const afterFailure = { version: state().version, phase: state().phase, round: state().currentRound?.round };
      playRound(h);
      await h.engine.idle();
      // Assert
      expect(faults.size).toBe(0);
      expect(afterFailure).toEqual({ version: 0, phase: 'collecting', round: 2 });
      const rounds = await h.storage.listRounds('t1', 5);
      const first = rounds.find((r) => r.round === 1)!;
      expect(first.state).toBe('abandoned');
      expect(first.abandonReason).toMatch(step === 'commitRound' ? /checkpoint failed/ : step === 'nonFiniteModel' ? /not finite|Infinity/ : /injected failure|could not be built/);
      expect(state().version).toBe(1);
      expect([...h.engine.globalWeights('t1')].every(Number.isFinite)).toBe(true);
    });
  }

  it('abandonRound fails too: the failure to record is logged and the next round still opens', async () => {
    const faults = new Set<Step>(['finish', 'abandonRound']);
    const h = await setUp(faults);
    playRound(h);
    await settle(h);
    expect(faults.size).toBe(0);
    expect(h.engine.summary('t1').currentRound?.round).toBe(2);
  });

  const afterCheckpoint: Step[] = ['evaluate', 'addVersionMetrics', 'broadcast', 'cancel'];
  for (const step of afterCheckpoint) {
    it(`${step} fails after the checkpoint: the version stands and the next round opens`, async () => {
      const faults = new Set<Step>([step]);
      const h = await setUp(faults);
      playRound(h);
      await h.engine.idle();
      expect(faults.size).toBe(0);
      const state = () => h.engine.summary('t1');
      expect([state().version, state().phase, state().currentRound?.round]).toEqual([1, 'collecting', 2]);
    });
  }

  it('marking the task completed fails: the task is not left aggregating', async () => {
    const faults = new Set<Step>(['setTaskStatus']);
    const h = await setUp(faults, new Set(), { maxRounds: 1 });
    playRound(h);
    await h.engine.idle();
    expect(faults.size).toBe(0);
    expect(h.engine.summary('t1').version).toBe(1);
    expect(h.engine.summary('t1').phase).toBe('idle');
  });

  it('recording the round’s opening fails (database unreachable): that round is abandoned at once, not left collecting updates it could never commit; the next one commits', async () => {
    // Prepare: the first round's opening write fails (the three clients connect in setUp).
    const faults = new Set<Step>(['openRound']);
    const h = await setUp(faults);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    // Assert: round 1 was cancelled for its invitees without waiting for their updates.
    expect(faults.size).toBe(0);
    expect(h.transport.of('round:cancel').some((s) => (s.msg as { roundId: string }).roundId === 't1-r1')).toBe(true);
    // Execute: the retry opens round 2, which commits.
    await settle(h);
    expect(h.engine.summary('t1').currentRound?.round).toBe(2);
    playRound(h);
    await h.engine.idle();
    expect(h.engine.summary('t1').version).toBe(1);
  });

  it('the strategy cannot open the next round: logged, retried, and the round after opens', async () => {
    const faults = new Set<Step>(['configureFit']);
    const h = await setUp(faults);
    playRound(h);
    await h.engine.idle();
    const state = () => h.engine.summary('t1');
    expect([state().version, state().phase]).toEqual([1, 'waiting-for-clients']);
    await settle(h);
    expect(state().currentRound?.round).toBe(2);
  });

  for (const hung of ['commitRound', 'evaluate']) {
    it(`${hung} never returns: the watchdog moves the task on after closeTimeoutMs`, async () => {
      const hangs = new Set([hung]);
      const h = await setUp(new Set(), hangs);
      playRound(h);
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      const state = () => h.engine.summary('t1');
      expect(state().phase).toBe('aggregating');
      h.clock.advance(5_000);
      await settle(h);
      expect(hangs.size).toBe(0);
      expect(state().phase).toBe('collecting');
      // A hung checkpoint never landed: still version 0. A hung evaluation came after it: version 1.
      expect([state().version, state().currentRound?.round]).toEqual([hung === 'commitRound' ? 0 : 1, 2]);
      expect(invited(h.transport).length).toBeGreaterThanOrEqual(6);
    });
  }
});
