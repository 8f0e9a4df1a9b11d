/**
 * The few WebCrypto calls secure aggregation needs, the same in a browser worker, Node 20 and the
 * simulator: X25519 agreement, HKDF-SHA256, AES-GCM for shares and AES-CTR as the mask generator.
 * No home-made primitives, and no general-purpose generator seeded with a few bits anywhere.
 */
import { SecAggError } from './secagg-error.js';

const subtle = (): SubtleCrypto => {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new SecAggError('BAD_PARAMETERS', 'WebCrypto (crypto.subtle) is not available here');
  return s;
};

/** PKCS#8 wrapping of a raw X25519 private key (RFC 8410): this prefix, then the 32 key bytes. */
const PKCS8_X25519_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);

export const KEY_BYTES = 32;

/** Bytes backed by a plain ArrayBuffer (what WebCrypto takes and returns). */
export type Bytes = Uint8Array<ArrayBuffer>;
const buf = (b: Uint8Array): Bytes => b as Bytes;

/** An X25519 key pair with its raw bytes; the private bytes are what gets Shamir-shared. */
export interface X25519KeyPair {
  readonly publicKey: Bytes;
  readonly privateKey: Bytes;
  readonly handle: CryptoKey;
}

export function randomBytes(n: number): Bytes {
  const out = new Uint8Array(n);
  globalThis.crypto.getRandomValues(out);
  return out;
}

export async function generateX25519(): Promise<X25519KeyPair> {
  const pair = (await subtle().generateKey({ name: 'X25519' }, true, ['deriveBits'])) as CryptoKeyPair;
  const publicKey = new Uint8Array(await subtle().exportKey('raw', pair.publicKey));
  const pkcs8 = new Uint8Array(await subtle().exportKey('pkcs8', pair.privateKey));
  return { publicKey, privateKey: pkcs8.slice(pkcs8.length - KEY_BYTES), handle: pair.privateKey };
}

/** A private key handle from its 32 raw bytes (a key the server rebuilt from shares). */
export async function importX25519Private(raw: Uint8Array): Promise<CryptoKey> {
  const pkcs8 = new Uint8Array(PKCS8_X25519_PREFIX.length + KEY_BYTES);
  pkcs8.set(PKCS8_X25519_PREFIX);
  pkcs8.set(raw, PKCS8_X25519_PREFIX.length);
  return subtle().importKey('pkcs8', pkcs8, { name: 'X25519' }, false, ['deriveBits']);
}

/** The 32-byte X25519 shared secret; a low-order or malformed public key is a typed refusal. */
export async function agree(privateKey: CryptoKey, publicKey: Uint8Array): Promise<Bytes> {
  try {
    const pub = await subtle().importKey('raw', buf(publicKey), { name: 'X25519' }, false, []);
    return new Uint8Array(await subtle().deriveBits({ name: 'X25519', public: pub }, privateKey, 256));
  } catch (cause) {
    throw new SecAggError('BAD_KEY', 'a public key is not a usable X25519 key', { cause });
  }
}

const encoder = new TextEncoder();

/** HKDF-SHA256 of `ikm`, bound to the round (salt) and to a purpose string naming the ids (info). */
export async function hkdf(ikm: Uint8Array, salt: string, info: string, bytes = 32): Promise<Bytes> {
  const key = await subtle().importKey('raw', buf(ikm), 'HKDF', false, ['deriveBits']);
  return new Uint8Array(await subtle().deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: encoder.encode(salt), info: encoder.encode(info) }, key, bytes * 8));
}

export async function sha256(bytes: Uint8Array): Promise<Bytes> {
  return new Uint8Array(await subtle().digest('SHA-256', buf(bytes)));
}

const GCM_IV_BYTES = 12;

/** AES-256-GCM with a fresh IV (prepended); `aad` binds the ciphertext to its sender, receiver and round. */
export async function sealAesGcm(key: Uint8Array, plaintext: Uint8Array, aad: string): Promise<Bytes> {
  const k = await subtle().importKey('raw', buf(key), 'AES-GCM', false, ['encrypt']);
  const iv = randomBytes(GCM_IV_BYTES);
  const body = new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv, additionalData: encoder.encode(aad) }, k, buf(plaintext)));
  const out = new Uint8Array(GCM_IV_BYTES + body.length);
  out.set(iv);
  out.set(body, GCM_IV_BYTES);
  return out;
}

export async function openAesGcm(key: Uint8Array, sealed: Uint8Array, aad: string): Promise<Bytes> {
  try {
    const k = await subtle().importKey('raw', buf(key), 'AES-GCM', false, ['decrypt']);
    const iv = buf(sealed.subarray(0, GCM_IV_BYTES));
    return new Uint8Array(await subtle().decrypt({ name: 'AES-GCM', iv, additionalData: encoder.encode(aad) }, k, buf(sealed.subarray(GCM_IV_BYTES))));
  } catch (cause) {
    throw new SecAggError('DECRYPT_FAILED', 'an encrypted share did not open with the expected key and ids', { cause });
  }
}

/** Bytes of the AES-GCM framing added to a share: IV and tag. */
export const SEAL_OVERHEAD = GCM_IV_BYTES + 16;

// One zero buffer per length, reused: AES-CTR over zeros is the keystream.
let zeros: Bytes = new Uint8Array(0);

/**
 * `count` uniform 32-bit words from AES-256-CTR keyed by `key` (a cryptographic PRG: the key is
 * 256 bits from HKDF, the counter starts at zero and never wraps within 2^64 blocks).
 */
export async function expandWords(key: Uint8Array, count: number): Promise<Uint32Array> {
  const k = await subtle().importKey('raw', buf(key), 'AES-CTR', false, ['encrypt']);
  if (zeros.length < count * 4) zeros = new Uint8Array(count * 4);
  const stream = await subtle().encrypt({ name: 'AES-CTR', counter: new Uint8Array(16), length: 64 }, k, zeros.subarray(0, count * 4));
  return new Uint32Array(stream);
}

/**
 * A mask of `count` ring elements for a ring of `ringBits` bits: 16-bit words when the ring fits
 * in 16 bits (half the AES work; 2^ringBits divides 2^16, so sums stay exact), else 32-bit words.
 */
export async function expandMask(key: Uint8Array, count: number, ringBits: number): Promise<Uint16Array | Uint32Array> {
  if (ringBits > 16) return expandWords(key, count);
  const k = await subtle().importKey('raw', buf(key), 'AES-CTR', false, ['encrypt']);
  if (zeros.length < count * 2) zeros = new Uint8Array(count * 2);
  const stream = await subtle().encrypt({ name: 'AES-CTR', counter: new Uint8Array(16), length: 64 }, k, zeros.subarray(0, count * 2));
  return new Uint16Array(stream);
}
