import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { probeIndexedDb } from './storage-probe.js';

/** A factory whose open() fails the way Chromium's does in a frame with third-party storage blocked. */
function deniedFactory(): IDBFactory {
  return {
    open() {
      const request = { error: new DOMException('The user denied permission to access the database.', 'UnknownError') } as unknown as IDBOpenDBRequest;
      setTimeout(() => request.onerror?.(new Event('error')), 0);
      return request;
    },
  } as unknown as IDBFactory;
}

describe('probeIndexedDb', () => {
  it('says storage is available when a database opens (and leaves none behind)', async () => {
    const factory = new IDBFactory();
    expect(await probeIndexedDb(1000, factory)).toEqual({ available: true });
    expect(await factory.databases()).toEqual([]);
  });

  it("reports the browser's refusal in its own words", async () => {
    expect(await probeIndexedDb(1000, deniedFactory())).toEqual({ available: false, reason: 'The user denied permission to access the database.' });
  });

  it('gives up after the timeout when IndexedDB never answers', async () => {
    const silent = { open: () => ({}) } as unknown as IDBFactory;
    expect(await probeIndexedDb(50, silent)).toEqual({ available: false, reason: 'IndexedDB did not answer within 0 s' });
  });
});
