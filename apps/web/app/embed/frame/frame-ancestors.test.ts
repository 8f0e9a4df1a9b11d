import { describe, expect, it } from 'vitest';
import { createFrameAncestorsLookup, frameAncestorsPolicy } from './frame-ancestors.js';

describe('frameAncestorsPolicy', () => {
  it("lists the key's origins, port wildcards included, and 'none' when there are none", () => {
    expect(frameAncestorsPolicy(['https://news.example', 'http://localhost:*'])).toBe('frame-ancestors https://news.example http://localhost:*');
    expect(frameAncestorsPolicy([])).toBe("frame-ancestors 'none'");
    expect(frameAncestorsPolicy(["https://a.example; script-src 'unsafe-inline'"])).toBe("frame-ancestors 'none'");
  });
});

describe('createFrameAncestorsLookup', () => {
  it('asks the server for the key once per ttl, and frames nowhere when the server is down', async () => {
    // Prepare: a server answer we can change, a clock we move.
    const asked: string[] = [];
    let origins = ['https://news.example'];
    let down = false;
    let t = 0;
    const fakeFetch = (async (url: string) => {
      asked.push(url);
      if (down) throw new Error('ECONNREFUSED');
      return new Response(JSON.stringify({ origins }), { headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    const lookup = createFrameAncestorsLookup({ serverUrl: 'http://chorus:8080', ttlMs: 1000, fetch: fakeFetch, now: () => t });

    // Execute
    const first = await lookup.policyFor('pk_news');
    origins = ['https://other.example'];
    const cached = await lookup.policyFor('pk_news');
    t = 1001;
    const refreshed = await lookup.policyFor('pk_news');
    down = true;
    const unreachable = await lookup.policyFor('pk_x y');

    // Assert
    expect([first, cached, refreshed, unreachable]).toEqual([
      'frame-ancestors https://news.example',
      'frame-ancestors https://news.example',
      'frame-ancestors https://other.example',
      "frame-ancestors 'none'",
    ]);
    expect(asked).toEqual([
      'http://chorus:8080/api/embed/frame-ancestors?key=pk_news',
      'http://chorus:8080/api/embed/frame-ancestors?key=pk_news',
      'http://chorus:8080/api/embed/frame-ancestors?key=pk_x%20y',
    ]);
  });
});
