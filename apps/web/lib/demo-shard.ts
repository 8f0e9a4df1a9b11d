import { idToIndex } from '@chorus/client';

/**
 * Datasets this site ships demo shards for, by the task's `data.dataset`, and where each one's
 * index lives (`public/data/<dir>/index.json`). A task on any other dataset gets no demo data.
 */
const DEMO_SHARD_DIRS: Readonly<Record<string, string>> = { mnist: '/data/mnist' };

export interface DemoShard {
  readonly dataset: string;
  /** Which shard of the index this browser got. */
  readonly index: number;
  readonly labels: readonly number[];
  readonly count: number;
}

interface ShardIndex {
  readonly shards: readonly { file: string; count: number; labels?: number[] }[];
}

/** What a shard is loaded into: the browser participant (or anything that imports one by URL). */
export interface ShardTarget {
  importShard(url: string): Promise<number>;
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
): Promise<DemoShard | undefined> {
  if (dataset == null || !Object.prototype.hasOwnProperty.call(DEMO_SHARD_DIRS, dataset)) return undefined;
  const dir = DEMO_SHARD_DIRS[dataset]!;
  const res = await fetchIndex(`${dir}/index.json`);
  if (!res.ok) return undefined;
  const { shards } = (await res.json()) as ShardIndex;
  if (!Array.isArray(shards) || shards.length === 0) return undefined;
  const index = idToIndex(visitorId, shards.length);
  const entry = shards[index]!;
  await target.importShard(`${dir}/${entry.file}`);
  return { dataset, index, labels: entry.labels ?? [], count: entry.count };
}
