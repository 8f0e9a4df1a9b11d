import { ChorusError } from '../errors/chorus-error.js';

/**
 * Checkpoint format for strategy state: small JSON metadata (DP clip norm, accountant) plus float32
 * arrays (optimizer moments) as raw bytes, never JSON numbers.
 * Layout: "CHST" | u8 version | 3 pad | u32 metaBytes | meta UTF-8 | pad to 4 | u32 count | count × u32 length | floats.
 */
const MAGIC = [0x43, 0x48, 0x53, 0x54];
const VERSION = 1;

export interface StrategyState {
  readonly meta: Readonly<Record<string, unknown>>;
  readonly arrays: readonly Float32Array[];
}

export function encodeStrategyState(state: StrategyState): Uint8Array {
  const meta = new TextEncoder().encode(JSON.stringify(state.meta));
  const metaEnd = 12 + meta.length;
  const arraysAt = metaEnd + ((4 - (metaEnd % 4)) % 4);
  const floats = state.arrays.reduce((s, a) => s + a.length, 0);
  const headerEnd = arraysAt + 4 + 4 * state.arrays.length;
  const out = new Uint8Array(headerEnd + 4 * floats);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[4] = VERSION;
  view.setUint32(8, meta.length, true);
  out.set(meta, 12);
  view.setUint32(arraysAt, state.arrays.length, true);
  let at = headerEnd;
  state.arrays.forEach((a, i) => {
    view.setUint32(arraysAt + 4 + 4 * i, a.length, true);
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    at += a.byteLength;
  });
  return out;
}

export function decodeStrategyState(bytes: Uint8Array): StrategyState {
  const bad = (why: string) => new ChorusError('BAD_REQUEST', `strategy state: ${why}`);
  if (bytes.length < 16 || MAGIC.some((b, i) => bytes[i] !== b)) throw bad('not a Chorus strategy state');
  if (bytes[4] !== VERSION) throw bad(`unsupported version ${bytes[4]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const metaLen = view.getUint32(8, true);
  const metaEnd = 12 + metaLen;
  const arraysAt = metaEnd + ((4 - (metaEnd % 4)) % 4);
  if (arraysAt + 4 > bytes.length) throw bad('truncated metadata');
  const meta = JSON.parse(new TextDecoder().decode(bytes.subarray(12, metaEnd))) as Record<string, unknown>;
  const count = view.getUint32(arraysAt, true);
  let at = arraysAt + 4 + 4 * count;
  if (at > bytes.length) throw bad('truncated array table');
  const arrays: Float32Array[] = [];
  for (let i = 0; i < count; i++) {
    const len = view.getUint32(arraysAt + 4 + 4 * i, true);
    if (at + 4 * len > bytes.length) throw bad(`array #${i} is truncated`);
    // Copy: the source buffer may be unaligned or reused by the caller.
    arrays.push(new Float32Array(bytes.slice(at, at + 4 * len).buffer));
    at += 4 * len;
  }
  return { meta, arrays };
}
