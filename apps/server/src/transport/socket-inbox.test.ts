import { describe, expect, it } from 'vitest';
import { SocketInbox, websocketOf, type PausableReader } from './socket-inbox.js';
import { YieldingQueue } from './yielding-queue.js';

/** A socket on the websocket transport: its ws object records pause/resume as ws does. */
function wsSocket(): { conn: { transport: { socket: PausableReader & { log: string[] } } } } {
  const ws = {
    isPaused: false,
    log: [] as string[],
    pause() {
      this.isPaused = true;
      this.log.push('pause');
    },
    resume() {
      this.isPaused = false;
      this.log.push('resume');
    },
  };
  return { conn: { transport: { socket: ws } } };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('SocketInbox', () => {
  it('stops reading a socket whose event finds more than `high` waiting, and reads them all again once `low` remain', async () => {
    // One event per turn, so the queue drains visibly.
    const inbox = new SocketInbox(new YieldingQueue(10, 1), 4, 1);
    const sockets = Array.from({ length: 8 }, wsSocket);
    const ran: number[] = [];
    const done = sockets.map((s, i) => inbox.run(s, () => ran.push(i)));

    // Events 5–8 made more than four waiting: their sockets stop being read.
    expect(sockets.map((s) => s.conn.transport.socket.isPaused)).toEqual([false, false, false, false, true, true, true, true]);
    expect(inbox.pausedSockets()).toBe(4);
    // Still paused while the queue drains toward `low`…
    await turn();
    await turn();
    expect(inbox.pausedSockets()).toBe(4);
    // …and read again, each once, when one event is left.
    await Promise.all(done);
    expect(ran).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(inbox.pausedSockets()).toBe(0);
    expect(sockets.map((s) => s.conn.transport.socket.log.join(','))).toEqual(['', '', '', '', 'pause,resume', 'pause,resume', 'pause,resume', 'pause,resume']);
  });

  it('pauses a socket once however many of its events wait, and queues long-polling sockets without pausing', async () => {
    const inbox = new SocketInbox(new YieldingQueue(10, 1), 2, 0);
    const busy = wsSocket();
    const polling = { conn: { transport: { name: 'polling' } } };
    const done = [0, 1, 2, 3, 4].map((i) => inbox.run(i % 2 ? polling : busy, () => i));

    expect(busy.conn.transport.socket.log).toEqual(['pause']);
    expect(websocketOf(polling)).toBeNull();
    expect(await Promise.all(done)).toEqual([0, 1, 2, 3, 4]);
    expect(busy.conn.transport.socket.log).toEqual(['pause', 'resume']);
  });

  it('passes a job’s failure to its caller and still resumes', async () => {
    const inbox = new SocketInbox(new YieldingQueue(10, 1), 1, 0);
    const a = wsSocket();
    const first = inbox.run(a, () => 1);
    const second = inbox.run(a, () => {
      throw new Error('bad event');
    });
    await expect(second).rejects.toThrow('bad event');
    expect(await first).toBe(1);
    expect(a.conn.transport.socket.isPaused).toBe(false);
  });

  it('refuses thresholds that could never resume', () => {
    expect(() => new SocketInbox(undefined, 4, 4)).toThrow(RangeError);
    expect(() => new SocketInbox(undefined, 4, -1)).toThrow(/low/);
  });
});
