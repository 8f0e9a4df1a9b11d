import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import Fastify from 'fastify';
import { createVersionFiles, matchesEtag, negotiateEncoding } from './version-files.js';

describe('version files: content negotiation and entity tags', () => {
  it('prefers brotli, then gzip, and honours q=0', () => {
    expect(negotiateEncoding('gzip, deflate, br, zstd')).toBe('br');
    expect(negotiateEncoding('gzip, deflate')).toBe('gzip');
    expect(negotiateEncoding('br;q=0, gzip;q=0.5')).toBe('gzip');
    expect(negotiateEncoding('br;q=0')).toBeNull();
    expect(negotiateEncoding('identity')).toBeNull();
    expect(negotiateEncoding('*')).toBe('gzip');
    expect(negotiateEncoding(undefined)).toBeNull();
  });

  it('matches a listed, weak or wildcard tag and nothing else', () => {
    expect(matchesEtag('"abc"', '"abc"')).toBe(true);
    expect(matchesEtag('"x", W/"abc"', '"abc"')).toBe(true);
    expect(matchesEtag('*', '"abc"')).toBe(true);
    expect(matchesEtag('"abcd"', '"abc"')).toBe(false);
    expect(matchesEtag(undefined, '"abc"')).toBe(false);
  });
});

describe('version files: body writes take turns', () => {
  it('writes a body only when its turn comes, and the download then completes intact', async () => {
    const waiting: (() => void)[] = [];
    const files = createVersionFiles(4, (job) => new Promise((resolve) => waiting.push(() => resolve(job()))));
    const bytes = new Uint8Array(300_000).map((_, i) => i % 251);
    const app = Fastify();
    app.get('/w', async (req, reply) => {
      await files.send(req, reply, { key: 'k', bytes, latest: false, version: 3 });
      return reply;
    });
    await app.ready();
    let answered = false;
    const response = app.inject({ method: 'GET', url: '/w' }).then((r) => ((answered = true), r));
    for (let i = 0; i < 20 && waiting.length === 0; i++) await new Promise((r) => setImmediate(r));
    expect(waiting).toHaveLength(1);
    expect(answered).toBe(false); // the handler ran, the write waits for its turn
    waiting.shift()!();
    const res = await response;
    expect(res.statusCode).toBe(200);
    expect(new Uint8Array(res.rawPayload)).toEqual(bytes);
    expect(res.headers['x-chorus-version']).toBe('3');
    await app.close();
  });

  it('answers a matching If-None-Match without waiting for a turn (nothing to write)', async () => {
    const files = createVersionFiles(4, () => new Promise(() => undefined)); // a turn that never comes
    const bytes = new Uint8Array(1000).fill(7);
    const app = Fastify();
    app.get('/w', async (req, reply) => {
      await files.send(req, reply, { key: 'k', bytes, latest: false, version: 1 });
      return reply;
    });
    const etag = createHash('sha256').update(bytes).digest('base64url').slice(0, 27);
    const res = await app.inject({ method: 'GET', url: '/w', headers: { 'if-none-match': `"${etag}"` } });
    expect(res.statusCode).toBe(304);
    await app.close();
  });
});
