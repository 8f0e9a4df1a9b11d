import { websocketOf, type PausableReader } from './socket-inbox.js';

/** The part of a TCP socket the budget uses: its reads, and stopping them. */
export interface BudgetedSocket {
  prependListener(event: 'data', fn: (this: BudgetedSocket, chunk: { length: number }) => void): unknown;
  on(event: 'close', fn: (this: BudgetedSocket) => void): unknown;
  pause(): unknown;
}

interface Reader {
  readonly raw: BudgetedSocket;
  readonly ws: PausableReader;
}

/** Where a counted socket keeps its Reader, so the budget's two listeners are shared by every socket. */
const READER = Symbol('chorus.readBudget.reader');
type Counted = BudgetedSocket & { [READER]?: Reader };

/**
 * A budget of bytes read from WebSockets per turn of the event loop.
 *
 * libuv's poll phase reads every ready socket before any timer runs, each up to 32 reads of 64 KB,
 * and `ws` decodes what it read there and then (joining a 200 KB frame from its reads into a fresh
 * buffer). When a thousand participants upload at once, every socket is ready in the same turn, and
 * while V8 marks the heap for external-memory pressure each ArrayBuffer allocated there costs a
 * 5–10 ms marking step: one poll phase could carry most of a collection's marking while timers
 * waited (issue 11). The inbox's back-pressure (SocketInbox) cannot stop this: it pauses a socket
 * only after its event was decoded.
 *
 * So each read is counted before `ws` sees it. Once a turn has read `bytesPerTurn`, a socket that
 * delivers data stops being read (its bytes wait in the kernel, where TCP slows the sender) and
 * joins a queue; each following turn resumes the `resumesPerTurn` longest-waiting sockets. Both
 * grow with a turn's distance from the last one (see `turnMs`), up to twice. A paused
 * socket still costs at most one more read (the stream stops reading once its buffer is full), not
 * the decoding. Uploads arriving at network speed never reach the budget; on loopback or after a
 * stall they are taken in turns, oldest first.
 */
export class ReadBudget {
  private used = 0;
  private turnScheduled = false;
  /** This turn's budget in units of the base one: the time since the last turn ÷ `turnMs`, 1–`maxScale`. */
  private scale = 1;
  private lastTurnAt: number;
  /** Sockets waiting to be read again, oldest first (a Set keeps insertion order). */
  private readonly waiting = new Set<Reader>();
  /** Sockets resumed at this turn's start: they read what waits for them, however much (see nextTurn). */
  private readonly granted = new Set<Reader>();
  /** One pair of listeners for every socket (as socket-handlers' listener()): no closures per connection. */
  private readonly onSocketData: (this: Counted, chunk: { length: number }) => void;
  private readonly onSocketClose: (this: Counted) => void;

  constructor(
    /** Bytes per turn of `turnMs`: 1 MiB is five 2NN updates. */
    readonly bytesPerTurn = 2 ** 20,
    /** Waiting sockets resumed per turn of `turnMs`. */
    readonly resumesPerTurn = 8,
    /**
     * A turn that came later than this gets a larger budget, in proportion, up to `maxScale` times:
     * when other work (garbage collection, downloads, broadcasts) makes turns long, a fixed budget
     * per turn cut the uploads taken per second (395–433 against 556–580 with this, in the load
     * bench: bench/README.md, "load"), while a budget that grows without a cap lets one turn read
     * a whole stall's worth again.
     */
    readonly turnMs = 10,
    readonly maxScale = 2,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(bytesPerTurn > 0 && Number.isInteger(resumesPerTurn) && resumesPerTurn > 0 && turnMs > 0 && maxScale >= 1)) {
      throw new RangeError(`ReadBudget: need bytesPerTurn > 0, a whole resumesPerTurn > 0, turnMs > 0 and maxScale ≥ 1 (got ${bytesPerTurn}, ${resumesPerTurn}, ${turnMs}, ${maxScale})`);
    }
    this.lastTurnAt = now();
    const budget = this;
    this.onSocketData = function (chunk) {
      const reader = this[READER];
      if (reader) budget.onData(reader, chunk.length);
    };
    this.onSocketClose = function () {
      const reader = this[READER];
      if (!reader) return;
      budget.waiting.delete(reader);
      budget.granted.delete(reader);
    };
  }

  /** Counts `raw`'s reads against the budget; `ws` is the WebSocket reading it (resumed through it, so its own pause wins). */
  attach(ws: PausableReader, raw: BudgetedSocket): void {
    const counted = raw as Counted;
    if (counted[READER]) return; // already counted (an upgrade seen twice)
    counted[READER] = { ws, raw };
    raw.prependListener('data', this.onSocketData as (this: BudgetedSocket, chunk: { length: number }) => void);
    raw.on('close', this.onSocketClose as (this: BudgetedSocket) => void);
  }

  /** Sockets waiting for a turn (tests, metrics). */
  waitingSockets(): number {
    return this.waiting.size;
  }

  private onData(reader: Reader, bytes: number): void {
    this.used += bytes;
    this.scheduleTurn();
    if (this.used <= this.bytesPerTurn * this.scale || this.granted.has(reader)) return;
    // This chunk still goes to ws (an emit cannot be taken back); the next ones wait.
    reader.raw.pause();
    this.waiting.add(reader);
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(this.nextTurn);
  }

  /** The check phase, after a poll phase: a fresh budget, and the longest-waiting sockets read again. */
  private readonly nextTurn = (): void => {
    this.turnScheduled = false;
    this.used = 0;
    this.granted.clear();
    const now = this.now();
    this.scale = Math.min(this.maxScale, Math.max(1, (now - this.lastTurnAt) / this.turnMs));
    this.lastTurnAt = now;
    let resumed = 0;
    for (const reader of this.waiting) {
      if (resumed++ >= this.resumesPerTurn * this.scale) break;
      this.waiting.delete(reader);
      // A socket the inbox paused (back-pressure) stays paused: the inbox resumes it.
      if (reader.ws.isPaused) continue;
      // Granted for the coming poll phase: paused again after one read it would only go to the back
      // of the queue with its frame half read, and wait again (updates per second fell 600 → 360).
      this.granted.add(reader);
      reader.ws.resume();
    }
    if (this.waiting.size > 0) this.scheduleTurn();
  };
}

/** The TCP socket under a ws WebSocket (`_socket`, which ws has kept for years), or null. */
export function rawSocketOf(ws: PausableReader): BudgetedSocket | null {
  const raw = (ws as { _socket?: Partial<BudgetedSocket> })._socket;
  return raw && typeof raw.prependListener === 'function' && typeof raw.pause === 'function' && typeof raw.on === 'function' ? (raw as BudgetedSocket) : null;
}

/** An engine.io connection: its transport now, and the event when it moves to another. */
interface EngineConnection {
  readonly transport?: unknown;
  on(event: 'upgrade', fn: () => unknown): unknown;
}

/** Counts every WebSocket connection's reads against `budget`, including connections that upgrade from long-polling. */
export function budgetWebSocketReads(engine: { on(event: 'connection', fn: (conn: EngineConnection) => void): unknown }, budget: ReadBudget): void {
  engine.on('connection', (conn) => {
    const attach = (): boolean => {
      const ws = websocketOf({ conn });
      const raw = ws && rawSocketOf(ws);
      if (ws && raw) budget.attach(ws, raw);
      return raw != null;
    };
    // A connection that starts on WebSocket (Chorus's clients do) needs no upgrade listener.
    if (!attach()) conn.on('upgrade', attach);
  });
}
