import { describe, expect, it } from 'vitest';
import { OpenRound } from './open-round.js';
import { caps, createHarness, invited } from './engine-test-kit.js';

describe('selection without scanning every member on every join', () => {
  it('opens the round on exactly the join that makes enough members eligible, however many ineligible ones joined first', async () => {
    const h = await createHarness({ rounds: { minAvailable: 5, backends: ['webgpu'] } });
    for (let i = 1; i <= 40; i++) await h.connect(i, caps(100, 'wasm'));
    for (let i = 41; i <= 44; i++) await h.connect(i, caps(100, 'webgpu'));
    expect(invited(h.transport)).toHaveLength(0);
    await h.connect(45, caps(100, 'webgpu'));
    // ceil(3 × 1.3) = 4 of the 5 eligible, none of the wasm members.
    expect(invited(h.transport)).toHaveLength(4);
    expect(invited(h.transport).every((c) => ['c41', 'c42', 'c43', 'c44', 'c45'].includes(c))).toBe(true);
  });

  it('counts a member whose capabilities change as a new candidate', async () => {
    const h = await createHarness({ rounds: { minAvailable: 3, backends: ['webgpu'] } });
    for (let i = 1; i <= 5; i++) await h.connect(i, caps(100, 'wasm'));
    h.engine.updateCapabilities('c1', 't1', caps(100, 'webgpu'));
    h.engine.updateCapabilities('c2', 't1', caps(100, 'webgpu'));
    expect(invited(h.transport)).toHaveLength(0);
    h.engine.updateCapabilities('c3', 't1', caps(100, 'webgpu'));
    expect(invited(h.transport).sort()).toEqual(['c1', 'c2', 'c3']);
  });

  it('knows by connection who the round still waits for, also after a selected participant reconnects', () => {
    const r = new OpenRound('t', 1, 't-r1', 0, 0, {} as never, {} as never, [
      { participantId: 'p1', connectionId: 'c1' },
      { participantId: 'p2', connectionId: 'c2' },
    ]);
    expect([r.holdsConnection('c1'), r.holdsConnection('c2'), r.holdsConnection('c3')]).toEqual([true, true, false]);
    r.selected.get('p2')!.status = 'submitted';
    expect(r.holdsConnection('c2')).toBe(false);
    r.reconnect('p1', 'c9');
    expect([r.holdsConnection('c1'), r.holdsConnection('c9')]).toEqual([false, true]);
  });
});
