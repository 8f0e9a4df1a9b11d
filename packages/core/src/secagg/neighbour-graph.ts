/**
 * The SecAgg+ neighbour graph (Bell et al. 2020): a Harary graph — every node joined to the h nodes
 * on each side of it on a ring — over a random ordering of the participants, drawn from the round's
 * public seed so the server and every participant build the same graph without talking.
 * Participant ids are 1..n (the server's roster order); each has min(2h, n−1) neighbours.
 */
import { expandWords, hkdf } from './webcrypto.js';

export interface NeighbourGraph {
  readonly size: number;
  /** The ids joined to `id`, ascending; never `id` itself. */
  neighboursOf(id: number): readonly number[];
  isNeighbour(a: number, b: number): boolean;
  /** Every participant's number of neighbours. */
  readonly degree: number;
}

/** A uniform shuffle of 0..n−1 from public randomness (multiply-shift on 32-bit AES-CTR words). */
export function shuffleFromWords(n: number, words: Uint32Array): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor((words[i]! * (i + 1)) / 4294967296);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** Public words for a named purpose, derived from the 32-byte round seed. */
export async function publicWords(seed: Uint8Array, roundId: string, purpose: string, count: number): Promise<Uint32Array> {
  return expandWords(await hkdf(seed, roundId, `chorus/secagg/public/${purpose}`), count);
}

export async function buildNeighbourGraph(n: number, neighbours: number, seed: Uint8Array, roundId: string): Promise<NeighbourGraph> {
  const half = Math.ceil(neighbours / 2);
  const complete = 2 * half >= n - 1;
  const order = shuffleFromWords(n, await publicWords(seed, roundId, 'graph', n));
  const position = new Uint32Array(n);
  for (let p = 0; p < n; p++) position[order[p]!] = p;
  const lists: number[][] = [];
  for (let id = 1; id <= n; id++) {
    if (complete) {
      lists.push(Array.from({ length: n - 1 }, (_, i) => (i + 1 < id ? i + 1 : i + 2)));
      continue;
    }
    const p = position[id - 1]!;
    const list: number[] = [];
    for (let off = 1; off <= half; off++) {
      list.push(order[(p + off) % n]! + 1, order[(p - off + n) % n]! + 1);
    }
    lists.push(list.sort((a, b) => a - b));
  }
  const sets = lists.map((l) => new Set(l));
  return {
    size: n,
    degree: complete ? n - 1 : 2 * half,
    neighboursOf: (id) => lists[id - 1] ?? [],
    isNeighbour: (a, b) => sets[a - 1]?.has(b) ?? false,
  };
}
