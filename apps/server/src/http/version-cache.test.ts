import { describe, expect, it } from 'vitest';
import type { StoredVersion } from '../storage/storage.js';
import { VersionCache } from './version-cache.js';

const stored = (version: number): StoredVersion => ({ taskId: 't', version, round: version, metrics: {}, byteLength: 1, createdAt: 0, payload: new Uint8Array([version]), strategyState: null });

describe('VersionCache', () => {
  it('reads a version from storage once, then serves the same bytes', async () => {
    const cache = new VersionCache();
    let loads = 0;
    const load = async () => (loads++, stored(3));
    const a = await cache.get('t', 3, load);
    const b = await cache.get('t', 3, load);
    expect(loads).toBe(1);
    expect(b?.payload).toBe(a?.payload);
  });

  it('moves on to a new version: the new bytes are served and the oldest beyond the limit is dropped', async () => {
    const cache = new VersionCache(2);
    await cache.get('t', 1, async () => stored(1));
    await cache.get('t', 2, async () => stored(2));
    const next = await cache.get('t', 3, async () => stored(3));
    expect(next?.payload[0]).toBe(3);
    expect(cache.held('t')).toEqual([3, 2]);
    // An old version asked for once does not push the current one out.
    await cache.get('t', 1, async () => stored(1));
    expect(cache.held('t')).toEqual([3, 2]);
  });

  it('remembers nothing for a version that does not exist', async () => {
    const cache = new VersionCache();
    expect(await cache.get('t', 9, async () => null)).toBeNull();
    expect(cache.held('t')).toEqual([]);
  });
});
