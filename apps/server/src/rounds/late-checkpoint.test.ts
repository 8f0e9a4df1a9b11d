import { describe, expect, it } from 'vitest';
import { SqliteStorage } from '../storage/sqlite-storage.js';
import type { Storage } from '../storage/storage.js';
import { createHarness, type Harness } from './engine-test-kit.js';

/**
 * A checkpoint that lands after the watchdog gave up on its round: the database holds the version,
 * so the runner adopts it (a RoundOutcome `committed` with `late: true`), and the round opened
 * meanwhile, a delta from the old version, is abandoned.
 */

/** Storage whose next commitRound waits until `release()` (then does commit). */
function gatedStorage(inner: Storage): { storage: Storage; arm(): void; release(): void } {
  let gate: { promise: Promise<void>; open: () => void } | null = null;
  let armed = false;
  const storage = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const call = () => (value as (...a: unknown[]) => unknown).apply(target, args);
        if (prop !== 'commitRound' || !armed) return call();
        armed = false;
        let open = () => undefined as void;
        const promise = new Promise<void>((resolve) => (open = resolve));
        gate = { promise, open };
        return promise.then(call);
      };
    },
  });
  return { storage, arm: () => (armed = true), release: () => gate?.open() };
}

async function ticks(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

function playRound(h: Harness): void {
  const roundId = h.engine.summary('t1').currentRound!.roundId;
  const conns = h.transport.of('round:invite').filter((s) => s.msg.roundId === roundId).map((s) => Number(s.to.slice(1)));
  for (const i of conns.slice(0, 2)) h.send(i, [0.1, 0.1, 0.1, 0.1]);
}

describe('a checkpoint that lands after the watchdog', () => {
  it('is adopted: the version moves on and the round opened from the old version is abandoned', async () => {
    // Prepare
    const gated = gatedStorage(new SqliteStorage({ path: ':memory:' }));
    const h = await createHarness({ storage: gated.storage, rounds: { minAvailable: 3, targetClients: 2, overSelection: 1.5, minClients: 1 }, deps: { closeTimeoutMs: 5_000 } });
    for (let i = 1; i <= 3; i++) await h.connect(i);
    gated.arm();
    // Execute: round 1 closes, its checkpoint hangs, the watchdog abandons it, round 2 opens at version 0.
    playRound(h);
    await ticks();
    expect(h.engine.summary('t1').phase).toBe('aggregating');
    h.clock.advance(5_000);
    await ticks();
    h.clock.advance(500); // the harness's retry delay
    await ticks();
    const during = h.engine.summary('t1');
    expect([during.version, during.phase, during.currentRound?.round, during.currentRound?.version]).toEqual([0, 'collecting', 2, 0]);
    // The checkpoint of round 1 lands now.
    gated.release();
    await ticks();
    h.clock.advance(500);
    await ticks();
    await h.engine.idle();
    // Assert
    const after = h.engine.summary('t1');
    expect(after.version).toBe(1);
    expect([after.currentRound?.round, after.currentRound?.version]).toEqual([3, 1]);
    expect([...h.engine.globalWeights('t1')].every(Number.isFinite)).toBe(true);
    const rounds = await h.storage.listRounds('t1', 5);
    expect(rounds.find((r) => r.round === 2)).toMatchObject({ state: 'abandoned', abandonReason: 'the global model moved on to a late checkpoint' });
    expect((await h.storage.latestVersion('t1'))!.version).toBe(1);
  });
});
