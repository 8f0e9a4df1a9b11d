import { ChorusError } from '@chorus/core';

/**
 * One bus message as bytes: its JSON with every byte array (an update, a partial sum, SecAgg+ keys
 * and masked inputs) taken out and carried raw after it, so a forwarded 2NN update costs its bytes,
 * not a third more as base64 plus a JSON string of it.
 *
 * Frame: u32 header length · header (UTF-8 JSON; byte arrays as `{ "$bin": i }`) · u32 count ·
 * count × u32 lengths · the byte arrays one after another. Little-endian.
 */
const MAX_DEPTH = 16;

export function encodeFrame(message: unknown): Buffer {
  const blobs: Uint8Array[] = [];
  const take = (v: unknown, depth: number): unknown => {
    if (depth > MAX_DEPTH) throw new ChorusError('BAD_REQUEST', 'bus message nested too deeply');
    if (ArrayBuffer.isView(v)) {
      blobs.push(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      return { $bin: blobs.length - 1 };
    }
    if (v instanceof ArrayBuffer) {
      blobs.push(new Uint8Array(v));
      return { $bin: blobs.length - 1 };
    }
    if (Array.isArray(v)) return v.map((x) => take(x, depth + 1));
    // A participant's own { $bin } (inside a forwarded secagg message) must not pass for a reference.
    if (v !== null && typeof v === 'object' && '$bin' in v) throw new ChorusError('BAD_REQUEST', 'a message may not hold a "$bin" key');
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, take(x, depth + 1)]));
    return v;
  };
  const header = Buffer.from(JSON.stringify(take(message, 0)));
  const head = Buffer.alloc(8 + 4 * blobs.length);
  head.writeUInt32LE(header.byteLength, 0);
  head.writeUInt32LE(blobs.length, 4);
  blobs.forEach((b, i) => head.writeUInt32LE(b.byteLength, 8 + 4 * i));
  // Layout: u32 header length, u32 count, lengths, header, blobs (the fixed part first: one read to size it).
  return Buffer.concat([head, header, ...blobs]);
}

/** The message of a frame, with each `{ $bin: i }` back as a Uint8Array (its own aligned copy). A malformed frame is a BAD_REQUEST. */
export function decodeFrame(frame: Buffer): unknown {
  const bad = (why: string) => new ChorusError('BAD_REQUEST', `bus frame: ${why}`);
  if (frame.byteLength < 8) throw bad('shorter than its fixed part');
  const headerLength = frame.readUInt32LE(0);
  const count = frame.readUInt32LE(4);
  let at = 8 + 4 * count;
  if (count > 1_000_000 || at + headerLength > frame.byteLength) throw bad('lengths beyond its end');
  const lengths = Array.from({ length: count }, (_, i) => frame.readUInt32LE(8 + 4 * i));
  let header: unknown;
  try {
    header = JSON.parse(frame.subarray(at, at + headerLength).toString('utf8'));
  } catch {
    throw bad('header is not JSON');
  }
  at += headerLength;
  const blobs: Uint8Array[] = [];
  for (const n of lengths) {
    if (at + n > frame.byteLength) throw bad('a byte array beyond its end');
    blobs.push(new Uint8Array(frame.subarray(at, at + n)));
    at += n;
  }
  if (at !== frame.byteLength) throw bad('bytes after its last byte array');
  const put = (v: unknown, depth: number): unknown => {
    if (depth > MAX_DEPTH) throw bad('nested too deeply');
    if (Array.isArray(v)) return v.map((x) => put(x, depth + 1));
    if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (Object.keys(o).length === 1 && typeof o.$bin === 'number') {
        const b = blobs[o.$bin];
        if (!b) throw bad(`no byte array ${o.$bin}`);
        return b;
      }
      return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, put(x, depth + 1)]));
    }
    return v;
  };
  return put(header, 0);
}
