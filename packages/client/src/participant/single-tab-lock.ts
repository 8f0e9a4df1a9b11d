interface LockManagerLike {
  request(name: string, options: { mode?: 'exclusive'; ifAvailable?: boolean; signal?: AbortSignal }, callback: (lock: unknown) => Promise<unknown>): Promise<unknown>;
}

export interface SingleTabLock {
  /** Resolves once this tab holds the lock; `onWaiting` is called first if another tab has it. */
  acquire(onWaiting?: () => void): Promise<void>;
  release(): void;
  readonly held: boolean;
}

/**
 * One active participant per browser: tabs queue on a Web Lock, so closing the active tab hands
 * participation to the next one. Without the Locks API every tab participates (older browsers).
 */
/** `locks`: the Web Locks API (default navigator.locks); null turns the lock off. */
export function createSingleTabLock(name: string, locks: LockManagerLike | null | undefined = (globalThis.navigator as { locks?: LockManagerLike } | undefined)?.locks): SingleTabLock {
  let held = false;
  let releaseLock: (() => void) | undefined;
  let abort: AbortController | undefined;

  const holdUntilReleased = (): Promise<void> =>
    new Promise<void>((resolve) => {
      held = true;
      releaseLock = () => {
        held = false;
        resolve();
      };
    });

  return {
    async acquire(onWaiting) {
      if (held) return;
      if (!locks) {
        held = true;
        return;
      }
      const gotIt = await new Promise<boolean | 'refused'>((resolve) => {
        locks
          .request(name, { mode: 'exclusive', ifAvailable: true }, async (lock) => {
            resolve(lock !== null);
            if (lock !== null) await holdUntilReleased();
          })
          // A frame on another site with third-party storage blocked is refused Web Locks too
          // (SecurityError): no other tab can hold ours there, so this one goes ahead.
          .catch(() => resolve('refused'));
      });
      if (gotIt === 'refused') {
        held = true;
        return;
      }
      if (gotIt) return;
      onWaiting?.();
      abort = new AbortController();
      await new Promise<void>((resolve, reject) => {
        locks
          .request(name, { mode: 'exclusive', signal: abort!.signal }, async () => {
            resolve();
            await holdUntilReleased();
          })
          .catch(reject);
      });
    },
    release() {
      abort?.abort();
      abort = undefined;
      if (releaseLock) releaseLock();
      else held = false;
      releaseLock = undefined;
    },
    get held() {
      return held;
    },
  };
}
