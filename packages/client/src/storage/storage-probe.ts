/** Whether this document may keep data in IndexedDB, and if not, why (in the browser's words). */
export type StorageProbe = { readonly available: true } | { readonly available: false; readonly reason: string };

const PROBE_DB = 'chorus-storage-probe';

/**
 * Opens (and deletes) a throw-away database. A frame on another site with third-party storage
 * blocked gets "The user denied permission to access the database"; some browsers never answer,
 * hence the timeout. Uses the raw API: idb must not see the real IndexedDB before a memory
 * fallback replaces it.
 */
export function probeIndexedDb(timeoutMs = 5000, factory: IDBFactory | undefined = globalThis.indexedDB): Promise<StorageProbe> {
  if (!factory) return Promise.resolve({ available: false, reason: 'this browser has no IndexedDB' });
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ available: false, reason: `IndexedDB did not answer within ${Math.round(timeoutMs / 1000)} s` }), timeoutMs);
    const done = (probe: StorageProbe): void => {
      clearTimeout(timer);
      resolve(probe);
    };
    try {
      const request = factory.open(PROBE_DB);
      request.onsuccess = () => {
        request.result.close();
        // Leave nothing behind: answer once the probe database is gone.
        const removal = factory.deleteDatabase(PROBE_DB);
        removal.onsuccess = removal.onerror = () => done({ available: true });
      };
      request.onerror = () => done({ available: false, reason: request.error?.message ?? 'IndexedDB refused to open' });
      request.onblocked = () => done({ available: false, reason: 'IndexedDB is blocked by another tab' });
    } catch (err) {
      done({ available: false, reason: err instanceof Error ? err.message : String(err) });
    }
  });
}

/**
 * Replaces this realm's IndexedDB with an in-memory one (fake-indexeddb): the same stores and
 * code paths, nothing written to disk, everything gone when the page or worker ends. Must run
 * before anything opens a database through idb.
 */
export async function useMemoryIndexedDb(): Promise<void> {
  await import('./memory-indexeddb.js');
}
