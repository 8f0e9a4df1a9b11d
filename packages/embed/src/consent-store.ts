/**
 * The visitor's card decision, remembered in the partner origin's localStorage (so per partner
 * site). Only the decision lives here: examples, the model and updates stay in the Chorus origin.
 */
export type ConsentDecision = 'granted' | 'declined';

type StorageLike = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export interface ConsentStore {
  get(): ConsentDecision | null;
  set(decision: ConsentDecision): void;
  /** Forgets the decision: the card asks again next time. */
  clear(): void;
}

export const consentKey = (chorusOrigin: string, taskId: string): string => `chorus-consent:${chorusOrigin}|${taskId}`;

export function createConsentStore(storage: StorageLike | null, chorusOrigin: string, taskId: string): ConsentStore {
  const key = consentKey(chorusOrigin, taskId);
  // A page may block storage (privacy modes throw on access): then the card simply asks every visit.
  const attempt = <T>(fn: () => T, fallback: T): T => {
    try {
      return storage ? fn() : fallback;
    } catch {
      return fallback;
    }
  };
  return {
    get: () =>
      attempt(() => {
        const v = JSON.parse(storage!.getItem(key) ?? 'null') as { decision?: unknown } | null;
        return v?.decision === 'granted' || v?.decision === 'declined' ? v.decision : null;
      }, null),
    set: (decision) => attempt(() => storage!.setItem(key, JSON.stringify({ decision, at: Date.now() })), undefined),
    clear: () => attempt(() => storage!.removeItem(key), undefined),
  };
}
