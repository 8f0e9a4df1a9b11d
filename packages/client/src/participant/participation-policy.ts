/** Why the participant is not training right now; the page shows each in plain words. */
export type PauseReason = 'user' | 'tab-hidden' | 'battery-low' | 'other-tab';

export const PAUSE_REASON_TEXT: Readonly<Record<PauseReason, string>> = {
  user: 'You paused it.',
  'tab-hidden': 'Paused while this tab is in the background.',
  'battery-low': 'Paused to save your battery (low and not charging).',
  'other-tab': 'Another tab of this browser is already taking part.',
};

interface BatteryLike extends EventTarget {
  readonly level: number;
  readonly charging: boolean;
}

export interface ParticipationPolicyOptions {
  /** Pause while the page is hidden. @default true */
  readonly pauseWhenHidden?: boolean;
  /** Pause below this battery level (0…1) when not charging; 0 disables. @default 0.2 */
  readonly minBatteryLevel?: number;
  /** @default globalThis.document */
  readonly document?: Pick<Document, 'visibilityState' | 'addEventListener' | 'removeEventListener'>;
  /** @default navigator.getBattery where it exists */
  readonly getBattery?: () => Promise<BatteryLike>;
}

/**
 * When this device should train, as one object: visibility, battery and the user's own pause.
 * Listeners hear the full set of reasons every time it changes.
 */
export interface ParticipationPolicy {
  readonly reasons: ReadonlySet<PauseReason>;
  readonly canParticipate: boolean;
  set(reason: PauseReason, active: boolean): void;
  subscribe(listener: (reasons: ReadonlySet<PauseReason>) => void): () => void;
  dispose(): void;
}

export function createParticipationPolicy(options: ParticipationPolicyOptions = {}): ParticipationPolicy {
  const reasons = new Set<PauseReason>();
  const listeners = new Set<(r: ReadonlySet<PauseReason>) => void>();
  const cleanups: (() => void)[] = [];
  const set = (reason: PauseReason, active: boolean): void => {
    if (reasons.has(reason) === active) return;
    if (active) reasons.add(reason);
    else reasons.delete(reason);
    for (const l of [...listeners]) l(new Set(reasons));
  };

  const doc = options.document ?? (typeof document === 'undefined' ? undefined : document);
  if (doc && (options.pauseWhenHidden ?? true)) {
    const onVisibility = (): void => set('tab-hidden', doc.visibilityState === 'hidden');
    onVisibility();
    doc.addEventListener('visibilitychange', onVisibility);
    cleanups.push(() => doc.removeEventListener('visibilitychange', onVisibility));
  }

  const minLevel = options.minBatteryLevel ?? 0.2;
  const nav = typeof navigator === 'undefined' ? undefined : (navigator as Navigator & { getBattery?: () => Promise<BatteryLike> });
  const getBattery = options.getBattery ?? (nav?.getBattery ? () => nav.getBattery!() : undefined);
  if (getBattery && minLevel > 0) {
    let disposed = false;
    void getBattery()
      .then((battery) => {
        if (disposed) return;
        const onBattery = (): void => set('battery-low', !battery.charging && battery.level < minLevel);
        onBattery();
        battery.addEventListener('levelchange', onBattery);
        battery.addEventListener('chargingchange', onBattery);
        cleanups.push(() => {
          battery.removeEventListener('levelchange', onBattery);
          battery.removeEventListener('chargingchange', onBattery);
        });
      })
      .catch(() => undefined); // Battery API refused: participate as if plugged in.
    cleanups.push(() => {
      disposed = true;
    });
  }

  return {
    get reasons() {
      return new Set(reasons);
    },
    get canParticipate() {
      return reasons.size === 0;
    },
    set,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    dispose() {
      for (const c of cleanups.splice(0)) c();
      listeners.clear();
    },
  };
}
