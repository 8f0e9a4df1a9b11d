import type { Clock } from '@chorus/server';

type Handle = { readonly id: number };

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/**
 * The clock of a discrete-event simulation: time stands still until the simulation loop fires the
 * next due timer, then jumps to it. The round engine's deadlines and retry pauses and every
 * simulated device's download, training and upload share this one queue, so waiting costs no wall
 * time: a run takes as long as its real work (the tfjs training of each update), however much
 * simulated time that spans. Ties fire in the order they were set (deterministic).
 */
export class VirtualClock implements Clock {
  private time: number;
  private nextId = 1;
  private readonly timers = new Map<number, Timer>();

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimer(fn: () => void, ms: number): Handle {
    const id = this.nextId++;
    this.timers.set(id, { id, at: this.time + Math.max(0, Number.isFinite(ms) ? ms : 0), fn });
    return { id };
  }

  clearTimer(handle: unknown): void {
    if (handle && typeof handle === 'object' && 'id' in handle) this.timers.delete((handle as Handle).id);
  }

  /** When the next timer is due, or undefined when none is set. */
  nextDue(): number | undefined {
    return this.peek()?.at;
  }

  /** Jumps to the earliest timer and runs it; false when none is set. */
  fireNext(): boolean {
    const due = this.peek();
    if (!due) return false;
    this.timers.delete(due.id);
    this.time = Math.max(this.time, due.at);
    due.fn();
    return true;
  }

  pending(): number {
    return this.timers.size;
  }

  // A linear scan: a few hundred timers at most (one per device plus the engine's), cheap next to training.
  private peek(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers.values()) if (!best || t.at < best.at || (t.at === best.at && t.id < best.id)) best = t;
    return best;
  }
}
