'use client';

import { useEffect, useState, useSyncExternalStore } from 'react';
import { createBrowserParticipant, idToIndex, isBackendId, type BrowserParticipant, type ParticipantState } from '@chorus/client';

const noopSubscribe = () => () => undefined;

interface ShardIndex {
  readonly shards: readonly { file: string; count: number; labels: number[] }[];
}

export interface DemoShard {
  readonly index: number;
  readonly labels: readonly number[];
  readonly count: number;
}

/**
 * Creates the participant once consent is given, loads this visitor's demo shard (picked by the
 * pseudonymous id, so a reload keeps the same one) and starts. `?backend=wasm` forces a backend.
 */
export function useParticipant(serverUrl: string, taskId: string, consented: boolean) {
  const [participant, setParticipant] = useState<BrowserParticipant>();
  const [shard, setShard] = useState<DemoShard>();
  const [setupError, setSetupError] = useState<string>();

  useEffect(() => {
    if (!consented) return;
    const wanted = new URLSearchParams(window.location.search).get('backend');
    const p = createBrowserParticipant({ serverUrl, taskId, ...(isBackendId(wanted) ? { forceBackend: wanted } : {}) });
    setParticipant(p);
    let cancelled = false;
    void (async () => {
      try {
        const res = await fetch('/data/mnist/index.json');
        if (res.ok) {
          const index = (await res.json()) as ShardIndex;
          const i = idToIndex(await p.localId(), index.shards.length);
          const entry = index.shards[i]!;
          await p.importShard(`/data/mnist/${entry.file}`);
          if (!cancelled) setShard({ index: i, labels: entry.labels, count: entry.count });
        }
        if (!cancelled) await p.start();
      } catch (err) {
        if (!cancelled) setSetupError(err instanceof Error ? err.message : String(err));
      }
    })();
    return () => {
      cancelled = true;
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
