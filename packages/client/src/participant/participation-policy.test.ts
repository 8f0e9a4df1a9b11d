import { describe, expect, it } from 'vitest';
import { createParticipationPolicy, type PauseReason } from './participation-policy.js';

class FakeDocument extends EventTarget {
  visibilityState: DocumentVisibilityState = 'visible';
  hide(hidden: boolean): void {
    this.visibilityState = hidden ? 'hidden' : 'visible';
    this.dispatchEvent(new Event('visibilitychange'));
  }
}

class FakeBattery extends EventTarget {
  constructor(public level: number, public charging: boolean) {
    super();
  }
  set(level: number, charging: boolean): void {
    this.level = level;
    this.charging = charging;
    this.dispatchEvent(new Event('levelchange'));
  }
}

describe('participation policy', () => {
  it('pauses while the tab is hidden and resumes when it is shown', () => {
    // Prepare
    const doc = new FakeDocument();
    const policy = createParticipationPolicy({ document: doc as unknown as Document });
    const seen: PauseReason[][] = [];
    policy.subscribe((r) => seen.push([...r]));
    // Execute
    doc.hide(true);
    doc.hide(false);
    // Assert
    expect(seen).toEqual([['tab-hidden'], []]);
    expect(policy.canParticipate).toBe(true);
  });

  it('pauses on a low battery unless charging, and combines reasons', async () => {
    const battery = new FakeBattery(0.5, false);
    const policy = createParticipationPolicy({ document: new FakeDocument() as unknown as Document, getBattery: async () => battery });
    await new Promise((r) => setTimeout(r, 0));
    policy.set('user', true);
    battery.set(0.1, false);
    expect([...policy.reasons].sort()).toEqual(['battery-low', 'user']);
    battery.set(0.1, true);
    policy.set('user', false);
    expect(policy.canParticipate).toBe(true);
  });

  it('stops listening once disposed', () => {
    const doc = new FakeDocument();
    const policy = createParticipationPolicy({ document: doc as unknown as Document });
    policy.dispose();
    doc.hide(true);
    expect(policy.canParticipate).toBe(true);
  });
});
