'use client';

import { useEffect, useState, useSyncExternalStore } from 'react';
import { createBrowserParticipant, isBackendId, type BrowserParticipant, type ParticipantState } from '@chorus/client';
import { loadDemoShard, type DemoShard } from '../../lib/demo-shard.js';

const noopSubscribe = () => () => undefined;

/**
 * Creates the participant once consent is given and starts it; once the join says which dataset the
 * task is on, loads this visitor's demo shard for it (none for a dataset the site has no shards for).
 * `shard` is undefined while that is unknown and null when there is none. `?backend=wasm` forces a
 * backend.
 */
export function useParticipant(serverUrl: string, taskId: string, consented: boolean) {
  const [participant, setParticipant] = useState<BrowserParticipant>();
  const [shard, setShard] = useState<DemoShard | null>();
  const [setupError, setSetupError] = useState<string>();

  useEffect(() => {
    if (!consented) return;
    const wanted = new URLSearchParams(window.location.search).get('backend');
    const p = createBrowserParticipant({ serverUrl, taskId, ...(isBackendId(wanted) ? { forceBackend: wanted } : {}) });
    setParticipant(p);
    let cancelled = false;
    const fail = (err: unknown): void => {
      if (!cancelled) setSetupError(err instanceof Error ? err.message : String(err));
    };
    let shardRequested = false;
    const unsubscribe = p.subscribe(() => {
      const task = p.getState().task;
      if (!task || shardRequested) return;
      shardRequested = true;
      void (async () => {
        const loaded = await loadDemoShard(p, task.data.dataset, await p.localId(), undefined, task.data);
        if (!cancelled) setShard(loaded ?? null);
      })().catch(fail);
    });
    void p.start().catch(fail);
    return () => {
      cancelled = true;
      unsubscribe();
      void p.stop();
    };
  }, [serverUrl, taskId, consented]);

  const state: ParticipantState | undefined = useSyncExternalStore(
    participant?.subscribe ?? noopSubscribe,
    () => participant?.getState(),
    () => undefined,
  );
  return { participant, state, shard, setupError };
}
