/**
 * Key derivations shared by participants and the server, so both sides bind every key to the
 * round and to the ordered pair of ids it belongs to.
 */
import { agree, hkdf, type Bytes } from './webcrypto.js';

const pair = (a: number, b: number): string => (a < b ? `${a}/${b}` : `${b}/${a}`);

/** AES-256 key for the masks between `a` and `b`, from their mask-key agreement. */
export async function pairMaskKey(roundId: string, own: CryptoKey, a: number, b: number, otherPublic: Uint8Array): Promise<Bytes> {
  return hkdf(await agree(own, otherPublic), roundId, `chorus/secagg/mask/${pair(a, b)}`);
}

/** AES-256-GCM key for the shares between `a` and `b`, from their share-key agreement. */
export async function pairShareKey(roundId: string, own: CryptoKey, a: number, b: number, otherPublic: Uint8Array): Promise<Bytes> {
  return hkdf(await agree(own, otherPublic), roundId, `chorus/secagg/share/${pair(a, b)}`);
}

/** AES-256 key for a participant's self mask, from its secret seed. */
export async function selfMaskKey(roundId: string, id: number, seed: Uint8Array): Promise<Bytes> {
  return hkdf(seed, roundId, `chorus/secagg/self/${id}`);
}

/** Authenticated data of a sealed share: who made it, for whom, in which round. */
export function shareAad(roundId: string, from: number, to: number): string {
  return `chorus/secagg/share|${roundId}|${from}|${to}`;
}

/** Runs `task` over `items` with at most `width` in flight (bounds memory of mask expansion). */
export async function inBatches<T>(items: readonly T[], width: number, task: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(task));
}
