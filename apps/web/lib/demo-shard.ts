import { idToIndex } from '@chorus/client';
import type { DataSchema } from '@chorus/core';
import { nextWordDataset } from '@chorus/ml/data';

/**
 * Datasets this site ships demo shards for, by the task's `data.dataset`, and where each one's
 * index lives (`public/data/<dir>/index.json`). A task on any other dataset gets no demo data.
 */
const DEMO_SHARD_DIRS: Readonly<Record<string, string>> = { mnist: '/data/mnist', sotu: '/data/sotu' };

export interface DemoShard {
  readonly dataset: string;
  /** Which shard of the index this browser got. */
  readonly index: number;
  readonly labels: readonly number[];
  readonly count: number;
  /** Whose text a text shard holds (a president, for "sotu"). */
  readonly source?: string;
}

interface ShardIndex {
  /** 'text': each shard is JSON `{ source, texts }`, encoded here with the task's own vocabulary. @default binary CHDS */
  readonly format?: 'text';
  readonly shards: readonly { file: string; count: number; labels?: number[]; source?: string }[];
}

/** What a shard is loaded into: the browser participant (or anything that imports one by URL). */
export interface ShardTarget {
  importShard(url: string): Promise<number>;
  /** Text shards: their next-word examples are added as 'shard' examples (only when there are none yet). */
  addExamples?(rows: { x: Float32Array; y: number }[], source: 'shard'): Promise<void>;
  getState?(): { readonly examples: { readonly bySource: { readonly shard: number } } };
}

/**
 * Loads this visitor's demo shard for a task's dataset into `target`, picked by the visitor's
 * pseudonymous id (a reload keeps the same one). Undefined when the site has no shards for the
 * dataset (a tabular or text task must never be handed MNIST digits) or the index is missing.
 */
export async function loadDemoShard(
  target: ShardTarget,
  dataset: string | null | undefined,
  visitorId: string,
  fetchIndex: (url: string) => Promise<Response> = (url) => fetch(url),
  /** The task's data schema: text shards need its vocabulary and context length. */
  data?: DataSchema,
): Promise<DemoShard | undefined> {
  if (dataset == null || !Object.prototype.hasOwnProperty.call(DEMO_SHARD_DIRS, dataset)) return undefined;
  const dir = DEMO_SHARD_DIRS[dataset]!;
  const res = await fetchIndex(`${dir}/index.json`);
  if (!res.ok) return undefined;
  const { shards, format } = (await res.json()) as ShardIndex;
  if (!Array.isArray(shards) || shards.length === 0) return undefined;
  const index = idToIndex(visitorId, shards.length);
  const entry = shards[index]!;
  const source = entry.source !== undefined ? { source: entry.source } : {};
  if (format === 'text') {
    if (!data?.vocabulary || !target.addExamples) return undefined;
    const held = target.getState?.().examples.bySource.shard ?? 0;
    if (held > 0) return { dataset, index, labels: [], count: held, ...source };
    const file = await fetchIndex(`${dir}/${entry.file}`);
    if (!file.ok) return undefined;
    const { texts } = (await file.json()) as { texts?: unknown };
    if (!Array.isArray(texts) || !texts.every((t) => typeof t === 'string')) return undefined;
    const ds = nextWordDataset(texts, data.vocabulary, { context: data.inputShape[0]! });
    const width = ds.inputShape[0]!;
    await target.addExamples(Array.from({ length: ds.count }, (_, i) => ({ x: ds.x.slice(i * width, (i + 1) * width), y: ds.y[i]! })), 'shard');
    return { dataset, index, labels: [], count: ds.count, ...source };
  }
  await target.importShard(`${dir}/${entry.file}`);
  return { dataset, index, labels: entry.labels ?? [], count: entry.count, ...source };
}
