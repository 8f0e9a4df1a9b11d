/** How the emitter reaches sockets: who is in a room, and one emit to a list of socket ids. */
export interface EmitTarget<E extends string, M> {
  members(room: string): Iterable<string>;
  emit(socketIds: readonly string[], event: E, msg: M): void;
  /**
   * A broadcast's last socket was written (at once when the room is empty): how many, and how long
   * it took from the broadcast call (the operator's "how long does a new version take to reach
   * everyone"; several processes wait for it before the next round).
   */
  written?(event: E, sockets: number, ms: number, msg: M): void;
}

interface Work<E, M> {
  readonly ids: readonly string[];
  next: number;
  readonly event: E;
  readonly msg: M;
  /** A broadcast's start (performance.now()), for `written`; null for sends. */
  readonly since: number | null;
}

/**
 * Broadcasts spread over turns of the event loop. Emitting to 10,000 sockets in one turn writes
 * 10,000 frames before anything else runs, so a /healthz request and every timer waited behind each
 * new version. Here a broadcast goes out `batch` sockets per turn (setImmediate between batches, so
 * I/O and timers get their turn). One FIFO for broadcasts and direct sends keeps each socket's
 * messages in the order the engine sent them (model:updated before the next round:invite).
 */
export class SpreadEmitter<E extends string, M> {
  private readonly queue: Work<E, M>[] = [];
  private scheduled = false;
  /**
   * What this turn of the event loop may still write. Direct sends count too: a round's invites are
   * hundreds of `send`s in one synchronous loop, and each wrote at once (780 invites held a turn
   * ~150 ms); past the budget they queue for the next turn like a broadcast's remainder.
   */
  private turn: { until: number; budget: number } | null = null;

  /**
   * @param batch most sockets written per turn of the event loop. A write is a syscall of about
   * 50–60 µs on an idle loopback, so 400 are ~20 ms, and `model:updated` reaches 10,000 sockets in
   * 25 turns (roundCloseMs). @default 400
   * @param sliceMs and at most this long per turn: on a busy machine a write took 200 µs and a fixed
   * batch of 200 held the loop 40 ms, so the batch goes out `step` sockets at a time until the
   * slice is used. Shorter slices starve the broadcast (10 ms: 2.4 s to reach 10,000 at load 12).
   * @default 20
   * @param step sockets per emit within a turn. @default 25
   */
  constructor(
    private readonly target: EmitTarget<E, M>,
    private readonly batch = 400,
    private readonly sliceMs = 20,
    private readonly step = 25,
  ) {}

  broadcast(room: string, event: E, msg: M): void {
    const ids = [...this.target.members(room)];
    if (ids.length === 0) return this.target.written?.(event, 0, 0, msg);
    this.enqueue({ ids, next: 0, event, msg, since: performance.now() });
  }

  send(socketId: string, event: E, msg: M): void {
    this.sendMany([socketId], event, msg);
  }

  /** One message to several sockets, in the queue's order (sends relayed from another process). */
  sendMany(socketIds: readonly string[], event: E, msg: M): void {
    this.enqueue({ ids: [...socketIds], next: 0, event, msg, since: null });
  }

  /** Sockets still to be written to (tests, metrics). */
  pending(): number {
    return this.queue.reduce((n, w) => n + w.ids.length - w.next, 0);
  }

  private enqueue(work: Work<E, M>): void {
    if (work.ids.length === 0) return;
    this.queue.push(work);
    // Nothing queued before it: write now (within this turn's budget), so a small send costs no extra turn.
    if (!this.scheduled) this.pump();
  }

  private openTurn(): { until: number; budget: number } {
    if (!this.turn) {
      this.turn = { until: performance.now() + this.sliceMs, budget: this.batch };
      // The check phase ends the turn; a pump scheduled after this starts with a fresh budget.
      setImmediate(() => (this.turn = null));
    }
    return this.turn;
  }

  private readonly pump = (): void => {
    this.scheduled = false;
    const turn = this.openTurn();
    while (turn.budget > 0 && this.queue.length > 0 && performance.now() < turn.until) {
      const w = this.queue[0]!;
      const ids = w.ids.slice(w.next, w.next + Math.min(turn.budget, this.step));
      w.next += ids.length;
      turn.budget -= ids.length;
      this.target.emit(ids, w.event, w.msg);
      if (w.next >= w.ids.length) {
        this.queue.shift();
        if (w.since !== null) this.target.written?.(w.event, w.ids.length, performance.now() - w.since, w.msg);
      }
    }
    if (this.queue.length > 0) {
      this.scheduled = true;
      setImmediate(this.pump);
    }
  };
}
