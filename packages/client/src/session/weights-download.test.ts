import { describe, expect, it } from 'vitest';
import { downloadBytes } from './weights-download.js';

/** A streamed response whose Content-Length header says `announced`, as a browser hands it to a script. */
function response(body: Uint8Array, announced: number): Response {
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(body.slice(0, body.length >> 1));
      c.enqueue(body.slice(body.length >> 1));
      c.close();
    },
  });
  return new Response(stream, { headers: { 'content-length': String(announced) } });
}

describe('downloadBytes', () => {
  it('takes more decoded bytes than a compressed Content-Length announced (Content-Encoding hidden by CORS)', async () => {
    const body = new Uint8Array(1000).fill(7);
    const progress: number[] = [];
    const wire: number[] = [];
    const got = await downloadBytes('http://s/w', { fetch: async () => response(body, 120), onProgress: (f) => progress.push(f), onWireBytes: (n) => wire.push(n) });
    expect(got).toEqual(body);
    expect(progress.at(-1)).toBe(1);
    // What crossed the network is the compressed length, not the decoded one.
    expect(wire).toEqual([120]);
  });

  it('counts the body itself as the bytes on the wire when it was not compressed', async () => {
    const wire: number[] = [];
    await downloadBytes('http://s/w', { fetch: async () => response(new Uint8Array(500), 500), onWireBytes: (n) => wire.push(n) });
    await downloadBytes('http://s/w', { fetch: async () => new Response(new Uint8Array(300)), onWireBytes: (n) => wire.push(n) });
    expect(wire).toEqual([500, 300]);
  });

  it('refuses a body cut short of its Content-Length as retryable UNAVAILABLE', async () => {
    await expect(downloadBytes('http://s/w', { fetch: async () => response(new Uint8Array(100), 1000) })).rejects.toMatchObject({ code: 'UNAVAILABLE', retryable: true });
  });

  it('turns a connection closed mid-body (fetch\'s bare "terminated") into retryable UNAVAILABLE', async () => {
    const broken = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array(10));
        c.error(new TypeError('terminated'));
      },
    });
    const got = downloadBytes('http://s/w', { fetch: async () => new Response(broken, { headers: { 'content-length': '100' } }) });
    await expect(got).rejects.toMatchObject({ code: 'UNAVAILABLE', retryable: true, message: expect.stringMatching(/broke off after \d+ bytes: terminated/) });
  });
});
