import { describe, expect, it } from 'vitest';
import { SpreadEmitter } from './spread-emitter.js';

function recorder(rooms: Record<string, string[]>) {
  const writes: { ids: readonly string[]; event: string; msg: number }[] = [];
  const target = { members: (room: string) => rooms[room] ?? [], emit: (ids: readonly string[], event: string, msg: number) => void writes.push({ ids, event, msg }) };
  return { writes, target };
}
const turn = () => new Promise((r) => setImmediate(r));
const ids = (n: number) => Array.from({ length: n }, (_, i) => `s${i}`);

describe('SpreadEmitter', () => {
  it('writes a big broadcast a batch per turn of the event loop, reaching every member once', async () => {
    const { writes, target } = recorder({ room: ids(1200) });
    const e = new SpreadEmitter(target, 500);
    const sent = () => writes.reduce((n, w) => n + w.ids.length, 0);
    e.broadcast('room', 'model:updated', 1);
    expect(sent()).toBe(500);
    expect(e.pending()).toBe(700);
    await turn();
    expect(sent()).toBe(1000);
    await turn();
    expect(writes.flatMap((w) => w.ids).sort()).toEqual(ids(1200).sort());
    expect(e.pending()).toBe(0);
  });

  it('keeps each socket’s messages in the order they were sent: a direct send waits behind a broadcast in progress', async () => {
    const { writes, target } = recorder({ room: ids(600) });
    const e = new SpreadEmitter(target, 500);
    e.broadcast('room', 'model:updated', 1);
    e.send('s599', 'round:invite', 2);
    expect(writes.some((w) => w.event === 'round:invite')).toBe(false);
    await turn();
    const forLast = writes.filter((w) => w.ids.includes('s599')).map((w) => w.event);
    expect(forLast).toEqual(['model:updated', 'round:invite']);
  });

  it('counts direct sends against the turn: a loop of sends past the batch waits for the next turn', async () => {
    const { writes, target } = recorder({});
    const e = new SpreadEmitter(target, 100);
    for (const id of ids(250)) e.send(id, 'round:invite', 1);
    expect(writes.length).toBe(100);
    await turn();
    expect(writes.length).toBe(200);
    await turn();
    expect(writes.map((w) => w.ids[0])).toEqual(ids(250));
  });

  it('stops a turn once its time slice is used, however few sockets it reached', async () => {
    const writes: string[] = [];
    const slow = { members: () => ids(40), emit: (batch: readonly string[]) => { const until = performance.now() + 6; while (performance.now() < until); writes.push(...batch); } };
    const e = new SpreadEmitter(slow, 200, 10, 5);
    e.broadcast('room', 'model:updated', 1);
    expect(writes.length).toBeLessThan(40);
    expect(writes.length).toBeGreaterThan(0);
    while (e.pending() > 0) await turn();
    expect(writes).toEqual(ids(40));
  });

  it('sends at once when nothing is queued, and ignores an empty room', () => {
    const { writes, target } = recorder({});
    const e = new SpreadEmitter(target, 500);
    e.broadcast('empty', 'task:status', 0);
    e.send('s1', 'round:cancel', 3);
    expect(writes).toEqual([{ ids: ['s1'], event: 'round:cancel', msg: 3 }]);
  });

  it('says when a broadcast reached its last socket (at once for an empty room), and never for a direct send', async () => {
    const { target } = recorder({ room: ids(1200), empty: [] });
    const written: [string, number, number][] = [];
    const e = new SpreadEmitter({ ...target, written: (event: string, sockets: number, _ms: number, msg: number) => void written.push([event, sockets, msg]) }, 500, 20, 25);
    e.broadcast('room', 'model:updated', 7);
    e.sendMany(['s1', 's2'], 'round:invite', 8);
    e.send('s3', 'round:cancel', 9);
    expect(written).toEqual([]);
    e.broadcast('empty', 'model:updated', 10);
    // The empty room has nothing to wait for; the big one is not written yet.
    expect(written).toEqual([['model:updated', 0, 10]]);
    while (e.pending() > 0) await turn();
    expect(written).toEqual([['model:updated', 0, 10], ['model:updated', 1200, 7]]);
  });
});
