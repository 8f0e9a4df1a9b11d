'use client';

import { useEffect, useState } from 'react';
import { probeIndexedDb } from '@chorus/client';
import type { StorageFallback } from './embed-check.js';

/**
 * Where this visit keeps its data. A frame on another site may be refused IndexedDB (third-party
 * storage blocked: strict privacy settings, some browsers by default, Playwright's default
 * Chromium); the partner key then decides between training from memory and linking out.
 */
export type FrameStorage =
  | { readonly mode: 'checking' }
  | { readonly mode: 'indexeddb' }
  | { readonly mode: 'memory'; readonly reason: string }
  | { readonly mode: 'blocked'; readonly reason: string };

/** How long the probe may take before storage counts as unavailable. */
const PROBE_MS = 5000;

export function useFrameStorage(fallback: StorageFallback | null): FrameStorage {
  const [storage, setStorage] = useState<FrameStorage>({ mode: 'checking' });
  useEffect(() => {
    if (!fallback) return;
    let live = true;
    void probeIndexedDb(PROBE_MS).then((probe) => {
      if (!live) return;
      if (probe.available) setStorage({ mode: 'indexeddb' });
      else setStorage({ mode: fallback === 'memory' ? 'memory' : 'blocked', reason: probe.reason });
    });
    return () => {
      live = false;
    };
  }, [fallback]);
  return storage;
}

/** Whether the browser offers the Storage Access API in this frame. */
export const storageAccessOffered = (): boolean => typeof document !== 'undefined' && typeof document.requestStorageAccess === 'function';

/**
 * Asks for storage access (needs the click that calls it). Browsers that grant unpartitioned
 * storage with it (Firefox) then let a reload keep data; the reload re-checks, so a grant that does
 * not reach IndexedDB (Chromium grants cookies only) changes nothing. Resolves with a plain-words
 * outcome for the card.
 */
export async function askForStorageAccess(): Promise<{ granted: boolean; text: string }> {
  try {
    await document.requestStorageAccess();
  } catch (err) {
    return { granted: false, text: `Your browser did not allow it${err instanceof Error && err.message ? ` (${err.message})` : ''}.` };
  }
  const probe = await probeIndexedDb(PROBE_MS);
  if (!probe.available) return { granted: false, text: 'Your browser allowed cookies only: Chorus still cannot keep its data here.' };
  return { granted: true, text: 'Allowed: starting again with storage.' };
}
