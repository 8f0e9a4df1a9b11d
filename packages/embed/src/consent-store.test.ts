import { describe, expect, it } from 'vitest';
import { consentKey, createConsentStore } from './consent-store.js';

describe('createConsentStore', () => {
  it('remembers the decision per Chorus origin and task, and forgets it on clear', () => {
    const map = new Map<string, string>();
    const storage = { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v), removeItem: (k: string) => void map.delete(k) };
    const a = createConsentStore(storage, 'https://chorus.example.org', 'mnist-demo');
    const b = createConsentStore(storage, 'https://chorus.example.org', 'other-task');

    a.set('granted');
    const afterGrant = [a.get(), b.get()];
    a.clear();

    expect(afterGrant).toEqual(['granted', null]);
    expect(a.get()).toBeNull();
    expect([...map.keys()]).toEqual([]);
    expect(consentKey('https://c.org', 't')).toBe('chorus-consent:https://c.org|t');
  });

  it('asks again when storage throws (blocked storage)', () => {
    const storage = { getItem: () => { throw new Error('SecurityError'); }, setItem: () => { throw new Error('SecurityError'); }, removeItem: () => undefined };
    const store = createConsentStore(storage, 'https://c.org', 't');

    store.set('granted');

    expect(store.get()).toBeNull();
  });
});
