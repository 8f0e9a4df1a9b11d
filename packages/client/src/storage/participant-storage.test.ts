import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { openParticipantStorage } from './participant-storage.js';
import { idToIndex } from './participant-identity.js';

let dbCount = 0;
const fresh = () => openParticipantStorage(`test-${++dbCount}`);

describe('participant storage', () => {
  it('keeps examples per task and loads them as one flat dataset', async () => {
    // Prepare
    const s = await fresh();
    await s.examples.add('a', [{ x: new Float32Array([1, 2]), y: 1 }, { x: new Float32Array([3, 4]), y: 0 }], 'shard');
    await s.examples.add('a', [{ x: new Float32Array([5, 6]), y: 1 }], 'drawn');
    await s.examples.add('b', [{ x: new Float32Array([9, 9]), y: 0 }], 'imported');
    // Execute
    const ds = await s.examples.load('a', [2], 2);
    const counts = await s.examples.count('a', 3);
    // Assert
    expect(Array.from(ds.x)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(ds.y)).toEqual([1, 0, 1]);
    expect(ds.count).toBe(3);
    expect(counts).toEqual({ total: 3, bySource: { shard: 2, drawn: 1, imported: 0, partner: 0, typed: 0 }, byLabel: [1, 2, 0] });
  });

  it('deletes one task’s examples and leaves the others', async () => {
    const s = await fresh();
    await s.examples.add('a', [{ x: new Float32Array([1]), y: 0 }], 'drawn');
    await s.examples.add('b', [{ x: new Float32Array([2]), y: 1 }], 'drawn');
    await s.examples.deleteAll('a');
    expect((await s.examples.count('a')).total).toBe(0);
    expect((await s.examples.count('b')).total).toBe(1);
  });

  it('keeps personal layers per task across a reopen, and "delete my data" removes them', async () => {
    // Prepare
    const name = `test-${++dbCount}`;
    const layout = [{ name: 'output/kernel', shape: [2, 1] }, { name: 'output/bias', shape: [1] }];
    const s = await openParticipantStorage(name);
    await s.personalLayers.put('a', { layout, values: Float32Array.from([0.5, -0.25, 2]) });
    s.close();
    // Execute: a reload opens the database again
    const again = await openParticipantStorage(name);
    const kept = await again.personalLayers.get('a');
    // Assert
    expect(kept?.layout).toEqual(layout);
    expect([...kept!.values]).toEqual([0.5, -0.25, 2]);
    expect(await again.personalLayers.get('b')).toBeUndefined();
    await again.deleteEverything();
    expect(await again.personalLayers.get('a')).toBeUndefined();
  });

  it('refuses an example whose size does not fit the task', async () => {
    const s = await fresh();
    await s.examples.add('a', [{ x: new Float32Array([1, 2, 3]), y: 0 }], 'imported');
    await expect(s.examples.load('a', [2], 2)).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
  });

  it('caches the two newest model versions per task', async () => {
    const s = await fresh();
    const layout = [{ name: 'w', shape: [2] }];
    for (const v of [1, 2, 3]) await s.models.put('a', v, { layout, values: new Float32Array([v, -v]) });
    expect(await s.models.get('a', 1)).toBeUndefined();
    expect(Array.from((await s.models.get('a', 3))!.values)).toEqual([3, -3]);
    expect(await s.models.latest('a')).toBe(3);
  });

  it('replaces the kept model in one step: a reader during the update sees the new copy alone', async () => {
    // Prepare: version 1 held.
    const s = await fresh();
    const layout = [{ name: 'w', shape: [2] }];
    await s.models.put('a', 1, { layout, values: new Float32Array([1, -1]) });
    // Execute: read both versions while version 2 is being stored.
    const putting = s.models.put('a', 2, { layout, values: new Float32Array([2, -2]) });
    const [old, next] = await Promise.all([s.models.get('a', 1), s.models.get('a', 2)]);
    await putting;
    // Assert: never two copies (nor none) of the task's model.
    expect(old).toBeUndefined();
    expect(Array.from(next!.values)).toEqual([2, -2]);
  });

  it('returns a pending upload only while its round is open', async () => {
    const s = await fresh();
    const upload = { taskId: 'a', roundId: 'r1', round: 1, version: 0, deadline: 1_000, numExamples: 5, metrics: { loss: 1 }, delta: new Float32Array([1, 2, 3]), createdAt: 0 };
    await s.pendingUploads.save(upload);
    expect(Array.from((await s.pendingUploads.take('a', 999))!.delta)).toEqual([1, 2, 3]);
    expect(await s.pendingUploads.take('a', 1_000)).toBeUndefined();
    expect(await s.pendingUploads.take('a', 0)).toBeUndefined();
  });

  it('summarises contributions and forgets everything on delete', async () => {
    const s = await fresh();
    await s.contributions.record({ taskId: 'a', roundId: 'r1', round: 1, bytes: 100, numExamples: 10, accepted: true, at: 5 });
    await s.contributions.record({ taskId: 'a', roundId: 'r2', round: 2, bytes: 50, numExamples: 10, accepted: false, at: 9 });
    const id = await s.identity.localId();
    expect(await s.identity.localId()).toBe(id);
    await s.identity.rememberServerParticipantId('http://x', 'a', 'p-1', 'signed-p-1');
    expect(await s.identity.serverToken('http://x', 'a')).toBe('signed-p-1');
    expect(await s.contributions.summary('a')).toEqual({ roundsJoined: 2, updatesAccepted: 1, bytesSent: 150, lastAt: 9 });
    // Execute
    await s.deleteEverything();
    // Assert
    expect(await s.contributions.summary('a')).toEqual({ roundsJoined: 0, updatesAccepted: 0, bytesSent: 0 });
    expect(await s.identity.serverParticipantId('http://x', 'a')).toBeUndefined();
    expect(await s.identity.serverToken('http://x', 'a')).toBeUndefined();
    expect(await s.identity.localId()).not.toBe(id);
  });

  it('caches backend trials per device and model', async () => {
    const s = await fresh();
    await s.backendTrials.put('dev', 'mnist-2nn', { chosen: 'wasm', measurements: [{ backend: 'wasm', samplesPerSecond: 300 }], measuredAt: 1 });
    expect((await s.backendTrials.get('dev', 'mnist-2nn'))?.chosen).toBe('wasm');
    expect(await s.backendTrials.get('other', 'mnist-2nn')).toBeUndefined();
  });

  it('keeps the error-feedback residual per task across a reopen, and deletes it with everything', async () => {
    const name = `test-${++dbCount}`;
    const first = await openParticipantStorage(name);
    await first.residuals.put('a', Float32Array.of(0.5, -1, 0));
    first.close();
    const again = await openParticipantStorage(name);
    expect([...((await again.residuals.get('a')) ?? [])]).toEqual([0.5, -1, 0]);
    expect(await again.residuals.get('b')).toBeUndefined();
    await again.deleteEverything();
    expect(await again.residuals.get('a')).toBeUndefined();
    again.close();
  });

  it('maps ids to stable shard indices', () => {
    expect(idToIndex('abc', 20)).toBe(idToIndex('abc', 20));
    const spread = new Set(Array.from({ length: 200 }, (_, i) => idToIndex(`id-${i}`, 20)));
    expect(spread.size).toBe(20);
  });
});
