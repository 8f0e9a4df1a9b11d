import { EventEmitter } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ReadBudget, rawSocketOf } from './read-budget.js';

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

/** A TCP socket's reading state, as the budget and ws drive it. */
class FakeRaw extends EventEmitter {
  paused = false;
  pause() {
    this.paused = true;
  }
  resume() {
    this.paused = false;
  }
  read(bytes: number) {
    this.emit('data', { length: bytes });
  }
}

/** ws's pause/resume over its TCP socket, with the inbox's pause (isPaused) kept apart. */
function fakeWs(raw: FakeRaw) {
  return {
    isPaused: false,
    pause() {
      this.isPaused = true;
      raw.pause();
    },
    resume() {
      this.isPaused = false;
      raw.resume();
    },
  };
}

describe('ReadBudget', () => {
  it('stops reading the sockets that go over a turn’s bytes and reads them again in later turns, oldest first', async () => {
    const budget = new ReadBudget(1000, 2, 10, 2, () => 0);
    const raws = Array.from({ length: 5 }, () => new FakeRaw());
    for (const raw of raws) budget.attach(fakeWs(raw), raw);

    // One poll phase: the first two reads fit, the rest go over and wait.
    for (const raw of raws) raw.read(500);
    expect(raws.map((r) => r.paused)).toEqual([false, false, true, true, true]);
    expect(budget.waitingSockets()).toBe(3);

    await nextTurn(); // two resumed, the oldest first
    expect(raws.map((r) => r.paused)).toEqual([false, false, false, false, true]);
    await nextTurn();
    expect(raws.map((r) => r.paused)).toEqual([false, false, false, false, false]);
    expect(budget.waitingSockets()).toBe(0);

    // A new turn has its own budget.
    raws[0]!.read(900);
    expect(raws[0]!.paused).toBe(false);
  });

  it('leaves a socket the inbox paused to the inbox', async () => {
    const budget = new ReadBudget(100, 8, 10, 2, () => 0);
    const raw = new FakeRaw();
    const ws = fakeWs(raw);
    budget.attach(ws, raw);
    raw.read(200);
    expect(raw.paused).toBe(true);
    ws.pause(); // back-pressure from the inbox in the same turn
    await nextTurn();
    expect(raw.paused).toBe(true);
    expect(budget.waitingSockets()).toBe(0);
    ws.resume();
    expect(raw.paused).toBe(false);
  });

  it('forgets a socket that closes while it waits', async () => {
    const budget = new ReadBudget(10, 1, 10, 2, () => 0);
    const raw = new FakeRaw();
    budget.attach(fakeWs(raw), raw);
    raw.read(20);
    expect(budget.waitingSockets()).toBe(1);
    raw.emit('close');
    expect(budget.waitingSockets()).toBe(0);
  });

  it('gives a turn that came late a larger budget, at most twice the base', async () => {
    let clock = 0;
    const budget = new ReadBudget(1000, 2, 10, 2, () => clock);
    const raws = Array.from({ length: 8 }, () => new FakeRaw());
    for (const raw of raws) budget.attach(fakeWs(raw), raw);
    for (const raw of raws) raw.read(500); // two fit, six wait
    expect(budget.waitingSockets()).toBe(6);

    clock = 15; // 1.5 turns since the last: three resumed
    await nextTurn();
    expect(budget.waitingSockets()).toBe(3);
    // …and 1,500 bytes may be read in this turn by others.
    const late = new FakeRaw();
    budget.attach(fakeWs(late), late);
    late.read(1400);
    expect(late.paused).toBe(false);
    late.read(200);
    expect(late.paused).toBe(true);

    for (const raw of [new FakeRaw(), new FakeRaw(), new FakeRaw()]) {
      budget.attach(fakeWs(raw), raw);
      raw.read(100);
    }
    expect(budget.waitingSockets()).toBe(7);
    clock = 1000; // a long stall: still only twice the base (four resumed)
    await nextTurn();
    expect(budget.waitingSockets()).toBe(3);
  });

  it('refuses a budget that could never read anything', () => {
    expect(() => new ReadBudget(0)).toThrow(RangeError);
    expect(() => new ReadBudget(10, 0)).toThrow(RangeError);
    expect(() => new ReadBudget(10, 1, 0)).toThrow(RangeError);
    expect(() => new ReadBudget(10, 1, 10, 0.5)).toThrow(RangeError);
  });

  describe('on a real TCP socket', () => {
    const closers: (() => void)[] = [];
    afterEach(() => {
      for (const c of closers.splice(0)) c();
    });

    it('receives every byte in order while taking turns', async () => {
      // Three senders of 1 MB each against a 64 KB budget: everything arrives, in order per socket.
      const budget = new ReadBudget(64 * 1024, 1);
      const received = new Map<Socket, Buffer[]>();
      const server = createServer((sock) => {
        const chunks: Buffer[] = [];
        received.set(sock, chunks);
        const ws = { isPaused: false, pause: () => sock.pause(), resume: () => sock.resume() };
        budget.attach(ws, rawSocketOf({ ...ws, _socket: sock } as never)!);
        sock.on('data', (c: Buffer) => chunks.push(c));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      closers.push(() => server.close());
      const port = (server.address() as AddressInfo).port;
      const payloads = [1, 2, 3].map((k) => Buffer.alloc(1 << 20, k));
      const clients = payloads.map((p) => {
        const c = connect(port, '127.0.0.1', () => c.end(p));
        closers.push(() => c.destroy());
        return c;
      });
      let sawWaiting = false;
      const deadline = Date.now() + 10_000;
      while ([...received.values()].reduce((n, cs) => n + cs.reduce((m, c) => m + c.length, 0), 0) < 3 << 20 && Date.now() < deadline) {
        sawWaiting ||= budget.waitingSockets() > 0;
        await nextTurn();
      }
      const bodies = [...received.values()].map((cs) => Buffer.concat(cs));
      expect(bodies.map((b) => b.length)).toEqual([1 << 20, 1 << 20, 1 << 20]);
      for (const b of bodies) expect(b.every((x) => x === b[0])).toBe(true);
      expect(new Set(bodies.map((b) => b[0]))).toEqual(new Set([1, 2, 3]));
      expect(sawWaiting).toBe(true);
      expect(clients).toHaveLength(3);
    });
  });
});
