import { YieldingQueue } from './yielding-queue.js';

/** The part of a ws WebSocket the inbox uses: stop and restart reading from its TCP socket. */
export interface PausableReader {
  readonly isPaused?: boolean;
  pause(): void;
  resume(): void;
}

/** The connection's WebSocket (engine.io's websocket transport keeps ws's object as `socket`), or null (long-polling). */
export function websocketOf(socket: { conn?: { transport?: unknown } }): PausableReader | null {
  const ws = (socket.conn?.transport as { socket?: Partial<PausableReader> } | undefined)?.socket;
  return ws && typeof ws.pause === 'function' && typeof ws.resume === 'function' ? (ws as PausableReader) : null;
}

/**
 * Clients' events, run a slice per event-loop turn (a YieldingQueue), with back-pressure on reading.
 *
 * The queue alone bounds the work of a turn's check phase, not of its poll phase: libuv reads every
 * ready socket there, and with a thousand uploads in flight each read decodes a frame and queues a
 * chunk, so hundreds of chunks (and their bytes, which V8 counts as external memory and answers with
 * mark-compacts) piled up while timers waited (issue 11: timer lag 380–430 ms at 10,000 connections).
 * Once more than `high` events wait, the socket whose event arrived stops being read (ws `pause()`:
 * its bytes stay in the kernel and TCP slows the sender); every paused socket is read again once the
 * queue is down to `low`. A socket on long-polling cannot be paused and is simply queued.
 */
export class SocketInbox {
  private readonly paused = new Set<PausableReader>();

  constructor(
    private readonly queue = new YieldingQueue(),
    private readonly high = 32,
    private readonly low = 8,
  ) {
    if (!(low >= 0 && high > low)) throw new RangeError(`SocketInbox: need 0 ≤ low < high (got low ${low}, high ${high})`);
  }

  /** Queues `job` for `socket`'s event; resolves with its result once its turn came. */
  run<T>(socket: { conn?: { transport?: unknown } }, job: () => T): Promise<T> {
    const done = this.queue.run(() => {
      try {
        return job();
      } finally {
        if (this.paused.size > 0 && this.queue.pending() <= this.low) this.resumeAll();
      }
    });
    if (this.queue.pending() > this.high) {
      const ws = websocketOf(socket);
      if (ws && !ws.isPaused && !this.paused.has(ws)) {
        ws.pause();
        this.paused.add(ws);
      }
    }
    return done;
  }

  /** Events waiting, and sockets not being read (tests, metrics). */
  pending(): number {
    return this.queue.pending();
  }

  pausedSockets(): number {
    return this.paused.size;
  }

  private resumeAll(): void {
    // ws ignores resume() on a closed socket, so one that went away while paused needs nothing more.
    for (const ws of this.paused) ws.resume();
    this.paused.clear();
  }
}
