import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlibConstants, gzip } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { YieldingQueue } from '../transport/yielding-queue.js';

const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

export type WireEncoding = 'br' | 'gzip';

/** A compressed copy is sent only when it saves at least this share of the bytes. */
const MIN_SAVING = 0.03;

/** Brotli quality 5: most of quality 11's gain on weights at a small fraction of its time. */
const BROTLI_QUALITY = 5;

/** The best encoding the request accepts (br over gzip), ignoring any listed with q=0. */
export function negotiateEncoding(header: string | string[] | undefined): WireEncoding | null {
  const accepted = new Set<string>();
  for (const part of [header ?? ''].flat().join(',').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q && Number(q.slice(2)) === 0) continue;
    accepted.add(name);
  }
  if (accepted.has('br')) return 'br';
  if (accepted.has('gzip') || accepted.has('*')) return 'gzip';
  return null;
}

/** True when an If-None-Match header names this entity tag (or `*`). */
export function matchesEtag(header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const bare = etag.replace(/^W\//, '');
  return [header]
    .flat()
    .join(',')
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .some((t) => t === '*' || t === bare);
}

interface Representation {
  readonly etag: string;
  /** One compression per file and encoding: the downloads of a new version arrive together and share it. */
  readonly compressed: Map<WireEncoding, Promise<Uint8Array | null>>;
}

/**
 * Serves immutable version files (a version's weights, a version's difference): a strong ETag from
 * the content's hash, `Cache-Control: public, max-age=31536000, immutable` for numbered versions
 * (`no-cache` for `latest`, which must be revalidated), 304 for a matching If-None-Match, and a
 * brotli or gzip copy when the request accepts one and it is smaller. Compressed copies of recent
 * files are kept, so each is compressed once (off the event loop, in zlib's thread pool).
 */
/** Runs a job when its turn comes (a YieldingQueue's `run`). */
export type TakeTurn = <T>(job: () => T) => Promise<T>;

export function createVersionFiles(keep = 32, takeTurn: TakeTurn = queueTurns()) {
  const cache = new Map<string, Representation>();

  function representation(key: string, bytes: Uint8Array): Representation {
    let rep = cache.get(key);
    if (!rep) {
      const hash = createHash('sha256').update(bytes).digest('base64url').slice(0, 27);
      rep = { etag: `"${hash}"`, compressed: new Map() };
      cache.set(key, rep);
      if (cache.size > keep) cache.delete(cache.keys().next().value!);
    }
    return rep;
  }

  function compress(rep: Representation, bytes: Uint8Array, encoding: WireEncoding): Promise<Uint8Array | null> {
    let pending = rep.compressed.get(encoding);
    if (!pending) {
      pending = compressOnce(bytes, encoding);
      rep.compressed.set(encoding, pending);
    }
    return pending;
  }

  async function compressOnce(bytes: Uint8Array, encoding: WireEncoding): Promise<Uint8Array | null> {
    const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out =
      encoding === 'br'
        ? await brotli(input, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: input.byteLength } })
        : await gzipAsync(input, { level: 6 });
    return out.byteLength <= bytes.byteLength * (1 - MIN_SAVING) ? new Uint8Array(out.buffer, out.byteOffset, out.byteLength) : null;
  }

  /**
   * Sends `bytes` (the file named `key`, which never changes) and returns the bytes that went on
   * the wire: 0 for a 304.
   */
  async function send(req: FastifyRequest, reply: FastifyReply, file: { key: string; bytes: Uint8Array; latest: boolean; version: number }): Promise<number> {
    const rep = representation(file.key, file.bytes);
    void reply
      .header('Cache-Control', file.latest ? 'no-cache' : 'public, max-age=31536000, immutable')
      .header('X-Chorus-Version', String(file.version))
      .header('ETag', rep.etag)
      .header('Vary', 'Accept-Encoding')
      .type('application/octet-stream');
    if (matchesEtag(req.headers['if-none-match'], rep.etag)) {
      await reply.code(304).send();
      return 0;
    }
    const encoding = negotiateEncoding(req.headers['accept-encoding']);
    const compressed = encoding ? await compress(rep, file.bytes, encoding) : null;
    const body = compressed ?? file.bytes;
    if (compressed) void reply.header('Content-Encoding', encoding!);
    const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    // Writing a body is a synchronous socket write (an 800 KB model: about a millisecond of kernel
    // copying on loopback). A round's invitees download at once, and dozens of writes in one poll
    // phase held timers and /healthz for hundreds of ms: the writes take turns, a slice at a time.
    await takeTurn(() => reply.send(buf));
    return body.byteLength;
  }

  return { send };
}

/**
 * Body writes of one process's downloads: at most 8 per turn of the event loop. `reply.send` returns
 * before the write (the audit log's async onSend hook runs first), so a time slice saw none of the
 * cost and a turn's writes piled up after it (442 ms of writev in a reduced load run's profile);
 * 8 writes of an 800 KB model are 8–25 ms of kernel copying.
 */
function queueTurns(): TakeTurn {
  const queue = new YieldingQueue(10, 8);
  return (job) => queue.run(job);
}
