import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Redis } from 'ioredis';

/** Entries parsed per turn of the event loop by list(). */
const LIST_SLICE = 1_000;

/** A participant connected to some server process, as the coordinator of its task sees it. */
export interface Presence {
  readonly participantId: string;
  /** The process (and socket) holding the connection: where invites and forwarded acks go. */
  readonly processId: string;
  readonly connectionId: string;
  /** When that process last confirmed the connection (ms since epoch). */
  readonly seenAt: number;
}

export interface PresenceOptions {
  readonly prefix: string;
  readonly processId: string;
  /** An entry not confirmed for this long is treated as gone (its process died). @default 15_000 */
  readonly staleMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Who is connected to each task, over every process: one Redis hash per task (participant →
 * process, connection, last seen). Each process writes only its own connections and refreshes them
 * (`refresh`) well within `staleMs`; a process killed with -9 leaves entries that simply age out,
 * so a coordinator never selects a participant whose process is gone.
 */
export class PresenceRegistry {
  private readonly staleMs: number;
  private readonly now: () => number;
  /** This process's connections, so refresh() can confirm them all in one round trip per task. */
  private readonly mine = new Map<string, Map<string, string>>();

  constructor(private readonly redis: Redis, private readonly options: PresenceOptions) {
    this.staleMs = options.staleMs ?? 15_000;
    this.now = options.now ?? Date.now;
  }

  private key(taskId: string): string {
    return `${this.options.prefix}:presence:${taskId}`;
  }

  private entry(connectionId: string): string {
    return JSON.stringify({ p: this.options.processId, c: connectionId, t: this.now() });
  }

  async add(taskId: string, participantId: string, connectionId: string): Promise<void> {
    let task = this.mine.get(taskId);
    if (!task) this.mine.set(taskId, (task = new Map()));
    task.set(participantId, connectionId);
    await this.redis.hset(this.key(taskId), participantId, this.entry(connectionId));
  }

  /** Removes the participant only if this process still holds it (it may have reconnected elsewhere). */
  async remove(taskId: string, participantId: string): Promise<void> {
    this.mine.get(taskId)?.delete(participantId);
    const raw = await this.redis.hget(this.key(taskId), participantId);
    if (raw !== null && (JSON.parse(raw) as { p: string }).p === this.options.processId) await this.redis.hdel(this.key(taskId), participantId);
  }

  /** Confirms every connection this process holds (call every few seconds). */
  async refresh(): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const [taskId, task] of this.mine) {
      if (task.size === 0) continue;
      const fields: string[] = [];
      for (const [participantId, connectionId] of task) fields.push(participantId, this.entry(connectionId));
      pipeline.hset(this.key(taskId), ...fields);
    }
    await pipeline.exec();
  }

  /** Every participant of the task connected to a live process; stale entries are dropped as they are found. */
  async list(taskId: string): Promise<Presence[]> {
    const all = await this.redis.hgetall(this.key(taskId));
    const cutoff = this.now() - this.staleMs;
    const live: Presence[] = [];
    const stale: string[] = [];
    let step = 0;
    for (const [participantId, raw] of Object.entries(all)) {
      // Thousands of entries are tens of milliseconds of parsing: a slice per turn of the event loop.
      if (++step % LIST_SLICE === 0) await nextTurn();
      let e: { p?: unknown; c?: unknown; t?: unknown };
      try {
        e = JSON.parse(raw) as typeof e;
      } catch {
        stale.push(participantId);
        continue;
      }
      if (typeof e.p !== 'string' || typeof e.c !== 'string' || typeof e.t !== 'number' || e.t < cutoff) stale.push(participantId);
      else live.push({ participantId, processId: e.p, connectionId: e.c, seenAt: e.t });
    }
    if (stale.length > 0) await this.redis.hdel(this.key(taskId), ...stale);
    // Code-unit order: as deterministic as localeCompare, and several times faster on thousands.
    return live.sort((a, b) => (a.participantId < b.participantId ? -1 : a.participantId > b.participantId ? 1 : 0));
  }
}
