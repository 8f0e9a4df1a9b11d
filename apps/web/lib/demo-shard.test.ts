import { describe, expect, it } from 'vitest';
import { loadDemoShard } from './demo-shard.js';

const INDEX = { shards: [{ file: 'shard-000.bin', count: 600, labels: [1, 7] }, { file: 'shard-001.bin', count: 600, labels: [0, 3] }] };

function recorder() {
  const fetched: string[] = [];
  const imported: string[] = [];
  return {
    fetched,
    imported,
    target: { importShard: async (url: string) => (imported.push(url), 600) },
    fetchIndex: async (url: string) => (fetched.push(url), new Response(JSON.stringify(INDEX), { status: 200 })),
  };
}

describe('loadDemoShard', () => {
  it("loads this visitor's MNIST shard for an MNIST task", async () => {
    // Prepare
    const r = recorder();

    // Execute
    const shard = await loadDemoShard(r.target, 'mnist', 'visitor-1', r.fetchIndex);

    // Assert
    expect(r.fetched).toEqual(['/data/mnist/index.json']);
    expect(r.imported).toEqual([`/data/mnist/${INDEX.shards[shard!.index]!.file}`]);
    expect(shard).toMatchObject({ dataset: 'mnist', count: 600 });
  });

  it('keeps the same shard for the same visitor', async () => {
    const [a, b] = [recorder(), recorder()];
    await loadDemoShard(a.target, 'mnist', 'visitor-2', a.fetchIndex);
    await loadDemoShard(b.target, 'mnist', 'visitor-2', b.fetchIndex);
    expect(a.imported).toEqual(b.imported);
  });

  it.each([['spam'], ['tabular'], [undefined], [null]])('gives a task on dataset %s no demo data, fetching nothing', async (dataset) => {
    const r = recorder();
    expect(await loadDemoShard(r.target, dataset, 'visitor-1', r.fetchIndex)).toBeUndefined();
    expect([r.fetched, r.imported]).toEqual([[], []]);
  });

  it('loads nothing when the site has no index', async () => {
    const r = recorder();
    const shard = await loadDemoShard(r.target, 'mnist', 'visitor-1', async () => new Response('nope', { status: 404 }));
    expect([shard, r.imported]).toEqual([undefined, []]);
  });

  it("encodes this visitor's State of the Union text with the task's vocabulary, once", async () => {
    const index = { format: 'text', shards: [{ file: 'president-00.json', count: 5, source: 'George Washington' }] };
    const fetched: string[] = [];
    const added: { x: number[]; y: number }[] = [];
    let shard = 0;
    const target = {
      importShard: async () => 0,
      addExamples: async (rows: { x: Float32Array; y: number }[]) => {
        added.push(...rows.map((r) => ({ x: [...r.x], y: r.y })));
        shard += rows.length;
      },
      getState: () => ({ examples: { bySource: { shard } } }),
    };
    const fetchIndex = async (url: string) => {
      fetched.push(url);
      return new Response(JSON.stringify(url.endsWith('index.json') ? index : { source: 'George Washington', texts: ['The state of the union'] }), { status: 200 });
    };
    const data = { kind: 'text' as const, inputShape: [2], numClasses: 5, vocabulary: ['<pad>', '<unk>', 'the', 'of', 'state'], dataset: 'sotu' };

    const first = await loadDemoShard(target, 'sotu', 'visitor-1', fetchIndex, data);
    const again = await loadDemoShard(target, 'sotu', 'visitor-1', fetchIndex, data);

    expect(added).toEqual([{ x: [0, 2], y: 4 }, { x: [2, 4], y: 3 }, { x: [4, 3], y: 2 }]);
    expect(first).toEqual({ dataset: 'sotu', index: 0, labels: [], count: 3, source: 'George Washington' });
    expect(again).toEqual({ dataset: 'sotu', index: 0, labels: [], count: 3, source: 'George Washington' });
    expect(fetched).toEqual(['/data/sotu/index.json', '/data/sotu/president-00.json', '/data/sotu/index.json']);
  });
});
