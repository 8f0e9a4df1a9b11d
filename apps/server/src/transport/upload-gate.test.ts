import { describe, expect, it } from 'vitest';
import { ChorusError } from '@chorus/core';
import { REFRESH_MS, UploadGate } from './upload-gate.js';

/** A round that needs `slots` more updates, and a budget of `budget` bytes of which `held` are taken. */
function host(slots: number, budget = Infinity) {
  const h = { slots, budget, held: 0, openSlots: () => h.slots, fits: (bytes: number) => h.held + bytes <= h.budget };
  return h;
}

const settled = async (p: Promise<void>): Promise<string> =>
  Promise.race([p.then(() => 'admitted', (e: unknown) => ChorusError.from(e).code), new Promise<string>((r) => setTimeout(() => r('waiting'), 20))]);

describe('UploadGate', () => {
  it('lets as many uploads run as the round still needs; the others wait and send nothing', async () => {
    const h = host(2);
    const gate = new UploadGate(h);
    expect(await settled(gate.admit('a', 't', 'r1', 10))).toBe('admitted');
    expect(await settled(gate.admit('b', 't', 'r1', 10))).toBe('admitted');
    const c = gate.admit('c', 't', 'r1', 10);
    expect(await settled(c)).toBe('waiting');
    expect(gate.state('r1')).toEqual({ inFlight: 2, waiting: 1 });
    // a's upload was refused: the round still needs 2, so c takes a's place.
    gate.release('a', 'r1');
    expect(await settled(c)).toBe('admitted');
  });

  it('answers a waiting begin ROUND_CLOSED the moment the round is over for it', async () => {
    const h = host(1);
    const gate = new UploadGate(h);
    await gate.admit('a', 't', 'r1', 10);
    const b = gate.admit('b', 't', 'r1', 10);
    h.slots = 0; // a's update was accepted and the round reached its target
    gate.release('a', 'r1');
    expect(await settled(b)).toBe('waiting');
    gate.roundOver('b', 'r1', 'the round has enough updates');
    const err = await b.then(() => null, (e: unknown) => ChorusError.from(e));
    expect([err?.code, err?.roundOver]).toEqual(['ROUND_CLOSED', true]);
    expect(gate.state('r1')).toEqual({ inFlight: 0, waiting: 0 });
  });

  it('answers every begin waiting for a round ROUND_CLOSED when the round is over everywhere, and leaves other rounds alone', async () => {
    const h = host(1);
    const gate = new UploadGate(h);
    await gate.admit('a', 't', 'r1', 10);
    const [b, c] = [gate.admit('b', 't', 'r1', 10), gate.admit('c', 't', 'r1', 10)];
    await gate.admit('x', 't', 'r2', 10);
    const y = gate.admit('y', 't', 'r2', 10);
    gate.roundClosed('r1', 'the round reached its target number of updates');
    for (const p of [b, c]) expect(await settled(p)).toBe('ROUND_CLOSED');
    expect(await settled(y)).toBe('waiting');
    expect(gate.state('r1')).toEqual({ inFlight: 1, waiting: 0 });
    gate.roundClosed('r3', 'nobody waits for it'); // unknown round: nothing happens
  });

  it('gives a waiter UNAVAILABLE (retryable) after maxWaitMs, and keeps a retried begin in its slot', async () => {
    const gate = new UploadGate(host(1), 30);
    await gate.admit('a', 't', 'r1', 10);
    expect(await settled(gate.admit('a', 't', 'r1', 10))).toBe('admitted');
    const err = await gate.admit('b', 't', 'r1', 10).then(() => null, (e: unknown) => ChorusError.from(e));
    expect([err?.code, err?.retryable]).toEqual(['UNAVAILABLE', true]);
  });

  it('waits for memory: a second upload begins only when the budget has room, a lone one always', async () => {
    const h = host(5, 15);
    const gate = new UploadGate(h);
    expect(await settled(gate.admit('a', 't', 'r1', 100))).toBe('admitted');
    h.held = 100;
    const b = gate.admit('b', 't', 'r1', 10);
    expect(await settled(b)).toBe('waiting');
    h.held = 0;
    gate.release('a', 'r1');
    expect(await settled(b)).toBe('admitted');
  });

  it('frees what a closed connection held', async () => {
    const gate = new UploadGate(host(1));
    await gate.admit('a', 't', 'r1', 10);
    const b = gate.admit('b', 't', 'r1', 10);
    gate.dropConnection('a');
    expect(await settled(b)).toBe('admitted');
  });

  it('reports every change of its running uploads, and looks at waiters again every REFRESH_MS when slots open elsewhere', async () => {
    // Prepare: a round coordinated on another process, which at first lets one upload run here.
    const reports: number[] = [];
    let refreshes = 0;
    const h = Object.assign(host(1), {
      inFlightChanged: (_taskId: string, roundId: string, count: number) => void (roundId === 'r1' && reports.push(count)),
      refresh: async () => {
        refreshes++;
      },
    });
    const gate = new UploadGate(h);
    await gate.admit('a', 't', 'r1', 10);
    const b = gate.admit('b', 't', 'r1', 10);
    expect(await settled(b)).toBe('waiting');

    // Execute: another process's upload was refused there; nothing happens here, but the coordinator now says 2.
    h.slots = 2;
    await new Promise((r) => setTimeout(r, REFRESH_MS + 100));

    // Assert
    expect(await settled(b)).toBe('admitted');
    expect(refreshes).toBeGreaterThanOrEqual(1);
    gate.release('a', 'r1');
    gate.dropConnection('b');
    expect(reports).toEqual([1, 2, 1, 0]);
    // Nobody waits: no more refreshes.
    const after = refreshes;
    await new Promise((r) => setTimeout(r, REFRESH_MS + 100));
    expect(refreshes).toBe(after);
  });
});
