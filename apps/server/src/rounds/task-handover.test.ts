import { describe, expect, it } from 'vitest';
import { createStrategy, type Capabilities } from '@chorus/core';
import type { PresentMember } from './coordination.js';
import { createHarness, LAYOUT } from './engine-test-kit.js';
import { TaskHandover, type HandoverHost, type PresenceEntry, type Runner } from './task-handover.js';
import { TaskRunner, type RunnerHooks } from './task-runner.js';

const CAPS = { backends: ['cpu'], examples: 10 } as unknown as Capabilities;

/** The members side of a runner: all reconcile touches. */
class FakeRunner {
  readonly members = new Map<string, string>();
  memberConnections(): { participantId: string; connectionId: string }[] {
    return [...this.members].map(([participantId, connectionId]) => ({ participantId, connectionId }));
  }
  hasMember(participantId: string): boolean {
    return this.members.has(participantId);
  }
  member(participantId: string): { participantId: string; connectionId: string; capabilities: Capabilities } | undefined {
    const connectionId = this.members.get(participantId);
    return connectionId === undefined ? undefined : { participantId, connectionId, capabilities: CAPS };
  }
  removeMember(participantId: string, connectionId: string): void {
    if (this.members.get(participantId) === connectionId) this.members.delete(participantId);
  }
  addMember(participantId: string, connectionId: string): void {
    this.members.set(participantId, connectionId);
  }
}

function host(runner: FakeRunner, local: readonly string[]): HandoverHost & { coordinating: boolean; pokes: number } {
  const runners = new Map<string, Runner>([['t1', runner as unknown as Runner]]);
  const h = {
    coordinating: true,
    pokes: 0,
    deps: {} as HandoverHost['deps'],
    runners,
    coordinates: () => h.coordinating,
    loadRunner: () => Promise.reject(new Error('not used')),
    localMembers: (): PresentMember[] => local.map((p) => ({ participantId: p, connectionId: `here-${p}`, capabilities: CAPS })),
    pokeAll: () => void (h.pokes += 1),
  };
  return h;
}

describe('TaskHandover.reconcile (the coordinator against the presence registry)', () => {
  it('drops members of dead processes and moved connections, adds missed live ones, and yields to the event loop while it works', async () => {
    // Prepare: 6,000 members. 1,000 are this process's; of the rest, 2,000 sit on a dead process,
    // 500 have reconnected elsewhere (another connection id), 2,500 are as registered. 300 live
    // participants elsewhere were never announced (joined during a takeover).
    const runner = new FakeRunner();
    const local = Array.from({ length: 1_000 }, (_, i) => `l${i}`);
    for (const p of local) runner.addMember(p, `here-${p}`);
    const elsewhere: PresenceEntry[] = [];
    for (let i = 0; i < 5_000; i++) {
      const p = `r${i}`;
      runner.addMember(p, `conn-${p}`);
      if (i < 2_000) elsewhere.push({ participantId: p, connectionId: `conn-${p}`, alive: false });
      else if (i < 2_500) elsewhere.push({ participantId: p, connectionId: `moved-${p}`, alive: true });
      else elsewhere.push({ participantId: p, connectionId: `conn-${p}`, alive: true });
    }
    for (let i = 0; i < 300; i++) elsewhere.push({ participantId: `new${i}`, connectionId: `conn-new${i}`, alive: true });
    const h = host(runner, local);
    let turns = 0;
    let counting = true;
    const tick = (): void => {
      turns += 1;
      if (counting) setImmediate(tick);
    };
    setImmediate(tick);

    // Execute
    await new TaskHandover(h).reconcile('t1', elsewhere, async () => CAPS);
    counting = false;

    // Assert: the dead process's members are gone, the moved ones hold their new connection, the
    // missed ones are in, the rest stay.
    expect(runner.members.size).toBe(1_000 + 500 + 2_500 + 300);
    expect(runner.hasMember('r0')).toBe(false);
    expect(runner.members.get('r2100')).toBe('moved-r2100');
    expect(runner.members.get('r4999')).toBe('conn-r4999');
    expect(runner.members.get('new299')).toBe('conn-new299');
    expect(runner.members.get('l0')).toBe('here-l0');
    expect(h.pokes).toBe(1);
    // 11,300 entries in slices of 1,000: the event loop had turns in between.
    expect(turns).toBeGreaterThanOrEqual(10);
  });

  it('stops where it is when the process stops coordinating the task during a yield', async () => {
    // Prepare: 3,000 members, all on a dead process.
    const runner = new FakeRunner();
    const elsewhere: PresenceEntry[] = [];
    for (let i = 0; i < 3_000; i++) {
      runner.addMember(`r${i}`, `conn-r${i}`);
      elsewhere.push({ participantId: `r${i}`, connectionId: `conn-r${i}`, alive: false });
    }
    const h = host(runner, []);
    // The lease is lost at the first yield.
    setImmediate(() => (h.coordinating = false));

    // Execute
    await new TaskHandover(h).reconcile('t1', elsewhere, async () => CAPS);

    // Assert: only the first slice was removed; the new coordinator reconciles the rest.
    expect(runner.members.size).toBe(3_000 - 999);
    expect(h.pokes).toBe(0);
  });
});

describe('TaskHandover.followCommit (a mirror takes a committed version in place)', () => {
  /** A task whose round 1 committed version 1 (in storage), and a passive mirror of it still at version 0 with one local member. */
  async function mirrored() {
    const h = await createHarness({ rounds: { targetClients: 1, minClients: 1, minAvailable: 1 } });
    await h.connect(0);
    expect(h.send(0, [0.5, 0.5, 0.5, 0.5])).toEqual({ accepted: true });
    for (let i = 0; i < 200 && h.engine.summary('t1').version < 1; i++) await new Promise((r) => setTimeout(r, 5));
    const stored = (await h.storage.getVersion('t1', 1))!;
    const task = (await h.storage.getTask('t1'))!;
    const hooks: RunnerHooks = { passive: true, isBusyElsewhere: () => false, onRoundClosed: () => undefined };
    const mirror = new TaskRunner(task, Float32Array.of(1, 2, 3, 4), 0, 0, createStrategy(task.config.strategy, LAYOUT), h.engine.deps, hooks);
    mirror.addMember('p-local', 'c-local', CAPS);
    let reloads = 0;
    const host: HandoverHost = {
      deps: h.engine.deps,
      runners: new Map<string, Runner>([['t1', mirror]]),
      coordinates: () => false,
      loadRunner: async () => {
        reloads += 1;
        return mirror;
      },
      localMembers: () => [],
      pokeAll: () => undefined,
    };
    return { h, mirror, host, v1: h.engine.deps.payload.decode(stored.payload).values, reloads: () => reloads };
  }

  it('takes the weights that came with the announcement, keeping the runner and its members', async () => {
    const { mirror, host, reloads } = await mirrored();
    await new TaskHandover(host).followCommit('t1', 1, 1, new Uint8Array(Float32Array.of(9, 8, 7, 6).buffer), null);
    expect(host.runners.get('t1')).toBe(mirror);
    expect(mirror.model()).toEqual({ version: 1, global: Float32Array.of(9, 8, 7, 6) });
    expect(mirror.summary().lastRound).toBe(1);
    expect(mirror.hasMember('p-local')).toBe(true);
    expect(reloads()).toBe(0);
  });

  it('reads the version from the database when the weights did not travel (a big model)', async () => {
    const { mirror, host, v1, reloads } = await mirrored();
    await new TaskHandover(host).followCommit('t1', 1, 1, null, null);
    expect(mirror.model()).toEqual({ version: 1, global: v1 });
    expect(reloads()).toBe(0);
  });

  it('reloads in full when it missed a version or the weights do not fit the model', async () => {
    const { mirror, host, reloads } = await mirrored();
    const handover = new TaskHandover(host);
    await handover.followCommit('t1', 2, 2, new Uint8Array(Float32Array.of(1, 1, 1, 1).buffer), null);
    expect(reloads()).toBe(1);
    await handover.followCommit('t1', 1, 1, new Uint8Array(Float32Array.of(1, 1).buffer), null);
    expect(reloads()).toBe(2);
    expect(mirror.model().version).toBe(0);
    // Only a passive mirror follows: a runner that runs rounds is never changed from outside.
    const active = new TaskRunner(mirror.task(), Float32Array.of(1, 2, 3, 4), 0, 0, mirror.strategy, host.deps, { isBusyElsewhere: () => false, onRoundClosed: () => undefined });
    expect(active.followCommit(1, 1, Float32Array.of(9, 8, 7, 6), null)).toBe(false);
  });
});
