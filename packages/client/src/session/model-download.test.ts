import { describe, expect, it } from 'vitest';
import { createSeededRandom, encodeModelStep, encodeNearDelta, encodePayload, modelHash, modelSketch, seededInitialWeights, type FlatWeights, type RoundInvite, type TensorSpec } from '@chorus/core';
import { createMemoryModelCache } from './model-cache.js';
import { fetchGlobalModel, type ModelDownloadContext } from './model-download.js';

const layout: TensorSpec[] = [{ name: 'w', shape: [64, 64] }];
const random = createSeededRandom(7);
/** Version 0 as a template task's: what seed 5 rebuilds. */
const SEED = 5;
const v0: FlatWeights = { layout, values: seededInitialWeights(layout, SEED) };

/** Versions 0..3 as a server with downloadCodec int8 commits them, with each version's difference. */
function history() {
  const versions = [v0];
  const deltas: Uint8Array[] = [new Uint8Array()];
  for (let v = 1; v <= 3; v++) {
    const proposed = versions[v - 1]!.values.map((x) => x + (random() - 0.5) * 0.01);
    const step = encodeModelStep(versions[v - 1]!, proposed, 'int8', random, v);
    versions.push({ layout, values: step.values });
    deltas.push(step.delta);
  }
  return { versions, deltas };
}

const body = (bytes: Uint8Array): ArrayBuffer => bytes.slice().buffer as ArrayBuffer;

function server(h: ReturnType<typeof history>, options: { missing?: number[]; corrupt?: number[] } = {}) {
  const requests: string[] = [];
  const fetch = async (url: string): Promise<Response> => {
    requests.push(url.replace('http://s/api/tasks/t/versions/', ''));
    const m = /versions\/(\d+)\/(weights|delta)(?:\?from=(\d+))?$/.exec(url)!;
    const v = Number(m[1]);
    if (m[2] === 'weights') return new Response(body(encodePayload(h.versions[v]!, 'float32')));
    if (m[3] !== undefined) {
      const from = Number(m[3]);
      if (options.missing?.includes(from)) return new Response(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no longer kept' } }), { status: 404 });
      return new Response(body(encodeNearDelta(h.versions[from]!, h.versions[v]!.values, random)));
    }
    if (options.missing?.includes(v)) return new Response(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no longer kept' } }), { status: 404 });
    const bytes = h.deltas[v]!.slice();
    if (options.corrupt?.includes(v)) bytes[bytes.length - 1]! ^= 0x40;
    return new Response(body(bytes));
  };
  return { fetch, requests };
}

function context(fetch: ModelDownloadContext['fetch'], cache = createMemoryModelCache(1)): ModelDownloadContext & { stats: Record<string, number> } {
  return { cache, fetch, serverUrl: 'http://s', attempts: 2, signal: new AbortController().signal, stats: { bytesDown: 0 } };
}

const invite = (version: number, weightsHash?: string, extra: Partial<RoundInvite> = {}): RoundInvite =>
  ({ taskId: 't', roundId: `t-r${version}`, round: version + 1, version, deadline: Date.now() + 60_000, training: { overrides: {} }, codec: 'int8', ...(weightsHash ? { weightsHash } : {}), ...extra }) as unknown as RoundInvite;

/** An invite as the server sends it with every check: exact hash, sketch, and version 0's seed. */
const checkedInvite = (h: ReturnType<typeof history>, version: number, seed = SEED): RoundInvite =>
  invite(version, modelHash(h.versions[version]!.values), { weightsSketch: modelSketch(h.versions[version]!.values), initialWeights: { seed, layout: layout.map((t) => ({ name: t.name, shape: [...t.shape] })) } });

/** L2 distance between two vectors. */
function distance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

describe('fetchGlobalModel (differential downloads)', () => {
  it('rebuilds a later version from the held one and its differences, exactly, and keeps only the new one', async () => {
    // Prepare: the device holds version 1; the invite is for version 3.
    const h = history();
    const s = server(h);
    const ctx = context(s.fetch);
    await ctx.cache.put('t', 1, h.versions[1]!);

    // Execute
    const got = await fetchGlobalModel(invite(3, modelHash(h.versions[3]!.values)), ctx, () => undefined);

    // Assert: two differences fetched, the exact weights, far fewer bytes than the whole model, cache replaced.
    expect(s.requests).toEqual(['2/delta', '3/delta']);
    expect(modelHash(got.values)).toBe(modelHash(h.versions[3]!.values));
    expect(ctx.stats).toMatchObject({ deltaDownloads: 1 });
    expect(ctx.stats.bytesDown).toBeLessThan(0.6 * 4 * 4096);
    expect(await ctx.cache.get('t', 1)).toBeUndefined();
    expect(await ctx.cache.latest!('t')).toBe(3);
  });

  it('downloads the whole model when a difference is no longer kept', async () => {
    const h = history();
    const s = server(h, { missing: [3] });
    const ctx = context(s.fetch);
    await ctx.cache.put('t', 2, h.versions[2]!);
    const got = await fetchGlobalModel(invite(3, modelHash(h.versions[3]!.values)), ctx, () => undefined);
    expect(s.requests).toEqual(['3/delta', '3/weights']);
    expect(modelHash(got.values)).toBe(modelHash(h.versions[3]!.values));
    expect(ctx.stats).toMatchObject({ fullDownloads: 1 });
  });

  it('falls back to the whole model when the rebuilt copy disagrees with the hash (drift) or a difference is invalid', async () => {
    const h = history();
    // A held copy that drifted by one bit: the rebuilt version cannot match the invite's hash.
    const drifted = h.versions[2]!.values.slice();
    new Uint32Array(drifted.buffer)[5]! ^= 1;
    const s1 = server(h);
    const ctx1 = context(s1.fetch);
    await ctx1.cache.put('t', 2, { layout, values: drifted });
    const got = await fetchGlobalModel(invite(3, modelHash(h.versions[3]!.values)), ctx1, () => undefined);
    expect(s1.requests).toEqual(['3/delta', '3/weights']);
    expect(ctx1.stats).toMatchObject({ driftFallbacks: 1, fullDownloads: 1 });
    expect(modelHash(got.values)).toBe(modelHash(h.versions[3]!.values));

    const s2 = server(h, { corrupt: [3] });
    const ctx2 = context(s2.fetch);
    await ctx2.cache.put('t', 2, h.versions[2]!);
    await fetchGlobalModel(invite(3, modelHash(h.versions[3]!.values)), ctx2, () => undefined);
    expect(s2.requests.at(-1)).toBe('3/weights');
    expect(ctx2.stats).toMatchObject({ fullDownloads: 1 });
  });

  it('takes a version two or more behind as ONE int8 difference from the held version, within its stated error, and keeps the exact base cached', async () => {
    const h = history();
    const s = server(h);
    const ctx = context(s.fetch);
    await ctx.cache.put('t', 1, h.versions[1]!);

    const got = await fetchGlobalModel(checkedInvite(h, 3), ctx, () => undefined);

    expect(s.requests).toEqual(['3/delta?from=1']);
    expect(ctx.stats).toMatchObject({ nearDownloads: 1 });
    expect(ctx.stats.fullDownloads).toBeUndefined();
    // Not bit for bit, but within int8's step of the difference: far closer than the version before.
    expect(distance(got.values, h.versions[3]!.values)).toBeLessThan(0.05 * distance(h.versions[1]!.values, h.versions[3]!.values));
    expect(ctx.stats.bytesDown).toBeLessThan(0.3 * 4 * 4096);
    // The cache keeps exact versions only: the next download is again from version 1.
    expect(await ctx.cache.latest!('t')).toBe(1);
  });

  it('rebuilds version 0 from the seed (no download) and a later version from it with one difference', async () => {
    const h = history();
    const s = server(h);
    const ctx = context(s.fetch);
    const first = await fetchGlobalModel(checkedInvite(h, 0), ctx, () => undefined);
    expect(s.requests).toEqual([]);
    expect(ctx.stats).toMatchObject({ seededModels: 1, bytesDown: 0 });
    expect(modelHash(first.values)).toBe(modelHash(v0.values));

    const fresh = context(s.fetch);
    const got = await fetchGlobalModel(checkedInvite(h, 3), fresh, () => undefined);
    expect(s.requests).toEqual(['3/delta?from=0']);
    expect(fresh.stats).toMatchObject({ nearDownloads: 1 });
    expect(distance(got.values, h.versions[3]!.values)).toBeLessThan(0.05 * distance(v0.values, h.versions[3]!.values));
  });

  it('falls back to the whole model when the seed does not rebuild version 0 (the sketch disagrees) or the base is no longer kept', async () => {
    const h = history();
    const s = server(h);
    const ctx = context(s.fetch);
    const got = await fetchGlobalModel(checkedInvite(h, 3, SEED + 1), ctx, () => undefined);
    expect(s.requests).toEqual(['3/delta?from=0', '3/weights']);
    expect(ctx.stats).toMatchObject({ driftFallbacks: 1, fullDownloads: 1 });
    expect(modelHash(got.values)).toBe(modelHash(h.versions[3]!.values));

    const ctx0 = context(s.fetch);
    await fetchGlobalModel(checkedInvite(h, 0, SEED + 1), ctx0, () => undefined);
    expect(ctx0.stats).toMatchObject({ driftFallbacks: 1, fullDownloads: 1 });

    const gone = server(h, { missing: [1] });
    const ctx2 = context(gone.fetch);
    await ctx2.cache.put('t', 1, h.versions[1]!);
    const whole = await fetchGlobalModel(checkedInvite(h, 3), ctx2, () => undefined);
    expect(gone.requests).toEqual(['3/delta?from=1', '3/weights']);
    expect(modelHash(whole.values)).toBe(modelHash(h.versions[3]!.values));
  });

  it('checks a cached copy of the same version against the hash, and downloads the whole model without a hash to check against', async () => {
    const h = history();
    const s = server(h);
    const ctx = context(s.fetch);
    const bad = h.versions[3]!.values.slice();
    bad[0] = bad[0]! + 1;
    await ctx.cache.put('t', 3, { layout, values: bad });
    await fetchGlobalModel(invite(3, modelHash(h.versions[3]!.values)), ctx, () => undefined);
    expect(s.requests).toEqual(['3/weights']);
    expect(ctx.stats).toMatchObject({ driftFallbacks: 1 });

    const s2 = server(h);
    const ctx2 = context(s2.fetch);
    await ctx2.cache.put('t', 2, h.versions[2]!);
    await fetchGlobalModel(invite(3), ctx2, () => undefined);
    expect(s2.requests).toEqual(['3/weights']);
  });
});
