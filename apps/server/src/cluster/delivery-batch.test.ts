import { describe, expect, it } from 'vitest';
import type { DeliveryItem } from './bus-messages.js';
import { DeliveryBatch } from './delivery-batch.js';

const nextTurn = () => new Promise((r) => setImmediate(r));

describe('DeliveryBatch (sends for sockets on other processes)', () => {
  it("publishes a turn's sends once at its end, in order, one item per message however many sockets it goes to", async () => {
    // Prepare
    const published: DeliveryItem[][] = [];
    const batch = new DeliveryBatch((items) => published.push(items));
    const invite = { taskId: 't', roundId: 'r2' };
    const cancel = { taskId: 't', roundId: 'r1', reason: 'over-selected' };

    // Execute: a round's invites one send at a time, a cancel between them, then the same invite again.
    for (const id of ['a', 'b', 'c']) expect(batch.add([id], 'round:invite', invite)).toBe(true);
    batch.add(['d'], 'round:cancel', cancel);
    batch.add(['e', 'f'], 'round:invite', invite);
    expect(published).toEqual([]);
    await nextTurn();

    // Assert: one announcement; the order of sends kept; consecutive sends of one object merged.
    expect(published).toEqual([
      [
        { event: 'round:invite', ids: ['a', 'b', 'c'], msg: invite },
        { event: 'round:cancel', ids: ['d'], msg: cancel },
        { event: 'round:invite', ids: ['e', 'f'], msg: invite },
      ],
    ]);
    // A later turn's sends go in an announcement of their own; an equal but distinct object is its own item.
    batch.add(['a'], 'round:invite', { ...invite });
    batch.add(['b'], 'round:invite', { ...invite });
    await nextTurn();
    expect(published).toHaveLength(2);
    expect(published[1]!.map((i) => i.ids)).toEqual([['a'], ['b']]);
  });

  it('refuses a broadcast event and an empty send (the caller uses the adapter), publishing nothing', async () => {
    const published: DeliveryItem[][] = [];
    const batch = new DeliveryBatch((items) => published.push(items));
    expect(batch.add(['a'], 'model:updated', { taskId: 't', version: 1, round: 1, metrics: {} })).toBe(false);
    expect(batch.add([], 'round:invite', {})).toBe(false);
    await nextTurn();
    expect(published).toEqual([]);
  });
});
