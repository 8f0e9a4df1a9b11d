import { describe, expect, it } from 'vitest';
import { createSingleTabLock } from './single-tab-lock.js';

/** The exclusive-lock semantics of navigator.locks, in one process: a queue per name. */
function fakeLocks() {
  let holder: Promise<unknown> | undefined;
  const queue: (() => void)[] = [];
  return {
    request(_name: string, options: { ifAvailable?: boolean; signal?: AbortSignal }, callback: (lock: unknown) => Promise<unknown>): Promise<unknown> {
      const run = (): Promise<unknown> => {
        holder = callback({}).finally(() => {
          holder = undefined;
          queue.shift()?.();
        });
        return holder;
      };
      if (!holder) return run();
      if (options.ifAvailable) return callback(null);
      return new Promise((resolve) => queue.push(() => resolve(run())));
    },
  };
}

describe('single tab lock', () => {
  it('lets the second tab wait until the first one releases', async () => {
    // Prepare
    const locks = fakeLocks();
    const first = createSingleTabLock('p', locks);
    const second = createSingleTabLock('p', locks);
    await first.acquire();
    let waited = false;
    // Execute
    const pending = second.acquire(() => {
      waited = true;
    });
    await new Promise((r) => setTimeout(r, 0));
    const heldBefore = second.held;
    first.release();
    await pending;
    // Assert
    expect(waited).toBe(true);
    expect(heldBefore).toBe(false);
    expect(second.held).toBe(true);
    expect(first.held).toBe(false);
  });

  it('holds at once without the Locks API', async () => {
    const lock = createSingleTabLock('p', null);
    await lock.acquire();
    expect(lock.held).toBe(true);
  });

  it('goes ahead when the browser refuses Web Locks (a third-party frame with storage blocked)', async () => {
    const refusing = { request: () => Promise.reject(new DOMException('The request was denied.', 'SecurityError')) };
    const lock = createSingleTabLock('p', refusing);
    await lock.acquire();
    expect(lock.held).toBe(true);
  });
});
