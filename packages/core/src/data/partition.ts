import type { RandomSource } from '../codecs/codec.js';
import { ChorusError } from '../errors/chorus-error.js';
import { shuffleInPlace } from '../random/seeded-random.js';
import type { Dataset } from './dataset.js';
import { dirichletSample } from './partition-dirichlet.js';

/** How a simulation splits one dataset among clients. */
export type PartitionSpec =
  | { readonly kind: 'iid' }
  /** FedAvg paper's pathological non-IID: label-sorted shards, `shardsPerClient` each. */
  | { readonly kind: 'shards'; readonly shardsPerClient: number }
  /** Per-class client proportions from Dirichlet(alpha): small alpha = skewed, large = near IID. */
  | { readonly kind: 'dirichlet'; readonly alpha: number };

const SPEC_HELP = 'use "iid", "shards:K" (K a positive integer) or "dirichlet:ALPHA" (ALPHA a positive number)';

export function parsePartitionSpec(spec: string): PartitionSpec {
  const text = typeof spec === 'string' ? spec.trim().toLowerCase() : '';
  if (text === 'iid') return { kind: 'iid' };
  const [kind, arg, extra] = text.split(':');
  if (extra === undefined && kind === 'shards' && arg !== undefined && /^[1-9]\d*$/.test(arg)) {
    return { kind: 'shards', shardsPerClient: Number(arg) };
  }
  if (extra === undefined && kind === 'dirichlet' && arg !== undefined && arg !== '') {
    const alpha = Number(arg);
    if (Number.isFinite(alpha) && alpha > 0) return { kind: 'dirichlet', alpha };
  }
  throw new ChorusError('INVALID_CONFIG', `partition "${String(spec)}" is not understood: ${SPEC_HELP}`);
}

function range(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/** Cuts `items` into `parts` contiguous pieces whose sizes differ by at most one. */
function splitEvenly(items: Int32Array, parts: number): Int32Array[] {
  return Array.from({ length: parts }, (_, p) =>
    items.slice(Math.floor((p * items.length) / parts), Math.floor(((p + 1) * items.length) / parts)),
  );
}

function iid(n: number, numClients: number, random: RandomSource): Int32Array[] {
  const order = range(n);
  shuffleInPlace(order, random);
  return splitEvenly(order, numClients);
}

function shards(labels: ArrayLike<number>, numClients: number, perClient: number, random: RandomSource): Int32Array[] {
  // Shuffle first so each label's examples land in its shards in random order.
  const order = range(labels.length);
  shuffleInPlace(order, random);
  const sorted = Int32Array.from([...order].sort((a, b) => labels[a]! - labels[b]!));
  const pieces = splitEvenly(sorted, numClients * perClient);
  const shardOrder = range(pieces.length);
  shuffleInPlace(shardOrder, random);
  return Array.from({ length: numClients }, (_, c) => {
    const mine = Array.from(shardOrder.subarray(c * perClient, (c + 1) * perClient), (s) => pieces[s]!);
    const out = new Int32Array(mine.reduce((sum, p) => sum + p.length, 0));
    let offset = 0;
    for (const p of mine) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  });
}

function dirichletOnce(byClass: Int32Array[], numClients: number, alpha: number, random: RandomSource): number[][] {
  const clients: number[][] = Array.from({ length: numClients }, () => []);
  for (const members of byClass) {
    shuffleInPlace(members, random);
    const p = dirichletSample(numClients, alpha, random);
    let cumulative = 0;
    let start = 0;
    for (let c = 0; c < numClients; c++) {
      cumulative += p[c]!;
      const end = c === numClients - 1 ? members.length : Math.min(members.length, Math.round(cumulative * members.length));
      for (let i = start; i < end; i++) clients[c]!.push(members[i]!);
      start = Math.max(start, end);
    }
  }
  return clients;
}

/** Redraws (a bounded number of times) until every client holds an example, as FL benchmarks do. */
function dirichlet(labels: ArrayLike<number>, numClients: number, alpha: number, random: RandomSource): Int32Array[] {
  const byClassLists = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const list = byClassLists.get(labels[i]!) ?? [];
    list.push(i);
    byClassLists.set(labels[i]!, list);
  }
  const classes = [...byClassLists.keys()].sort((a, b) => a - b);
  const byClass = classes.map((k) => Int32Array.from(byClassLists.get(k)!));
  let clients = dirichletOnce(byClass, numClients, alpha, random);
  for (let attempt = 0; attempt < 100 && labels.length >= numClients && clients.some((c) => c.length === 0); attempt++) {
    clients = dirichletOnce(byClass, numClients, alpha, random);
  }
  return clients.map((c) => {
    const out = Int32Array.from(c);
    shuffleInPlace(out, random);
    return out;
  });
}

/** Splits example indices among `numClients` clients; every index goes to exactly one client. */
export function partitionIndices(labels: ArrayLike<number>, numClients: number, spec: PartitionSpec, random: RandomSource): Int32Array[] {
  if (!Number.isInteger(numClients) || numClients < 1) {
    throw new ChorusError('INVALID_CONFIG', `partition: numClients must be a positive integer, got ${numClients}`);
  }
  switch (spec.kind) {
    case 'iid':
      return iid(labels.length, numClients, random);
    case 'shards':
      return shards(labels, numClients, spec.shardsPerClient, random);
    case 'dirichlet':
      return dirichlet(labels, numClients, spec.alpha, random);
    default: {
      const never: never = spec;
      throw new ChorusError('INVALID_CONFIG', `partition: unknown kind ${JSON.stringify(never)}`);
    }
  }
}

/** A copy of the chosen examples of `ds`, in the order given. */
export function subsetDataset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const rowLen = ds.inputShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(indices.length * rowLen);
  const y = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const idx = indices[i]!;
    if (!Number.isInteger(idx) || idx < 0 || idx >= ds.count) {
      throw new ChorusError('BAD_REQUEST', `subsetDataset: index ${idx} is outside the dataset's ${ds.count} examples`);
    }
    x.set(ds.x.subarray(idx * rowLen, (idx + 1) * rowLen), i * rowLen);
    y[i] = ds.y[idx]!;
  }
  return { x, y, count: indices.length, inputShape: [...ds.inputShape], numClasses: ds.numClasses };
}
