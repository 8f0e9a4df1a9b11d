import type { Redis } from 'ioredis';

/** A task's lease as one process holds it. */
export interface HeldLease {
  readonly taskId: string;
  /** Fencing token: grows with every new owner; commits carry it (Storage.raiseFence / commitRound). */
  readonly token: number;
}

export interface TaskLeaseOptions {
  /** Key prefix shared by the processes of one deployment. */
  readonly prefix: string;
  /** This process's id (unique per process start). */
  readonly owner: string;
  /** Lease time: another process may take the task over this long after the owner stops renewing. @default 3_000 */
  readonly ttlMs?: number;
}

/**
 * 3 s: a killed coordinator is replaced 2-3 s later (renewed every second), while a live one
 * survives an event-loop stall of up to 2 s without losing its task (the fence keeps a late one safe).
 */
export const DEFAULT_LEASE_MS = 3_000;

// SET NX PX, and on success a new fencing token from a counter that never goes back.
const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local token = redis.call('INCR', KEYS[2])
  redis.call('SET', KEYS[1], ARGV[1] .. ':' .. token, 'PX', ARGV[2])
  return token
end
return nil`;
// Renew or release only what we hold (owner and token both match).
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
// Moves the token counter up to at least ARGV[1] (never down).
const RAISE_COUNTER = `if (tonumber(redis.call('GET', KEYS[1])) or 0) < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end return 1`;

/**
 * One coordinator per task across processes: a Redis lease (SET NX PX) with renewal, and a fencing
 * token (INCR) that the new owner writes to the database (Storage.raiseFence) before it commits.
 * The lease alone cannot stop a paused old owner from committing late; the fence in the commit
 * transaction does.
 */
export class TaskLeases {
  readonly ttlMs: number;

  constructor(private readonly redis: Redis, private readonly options: TaskLeaseOptions) {
    this.ttlMs = options.ttlMs ?? DEFAULT_LEASE_MS;
  }

  private keys(taskId: string): [string, string] {
    return [`${this.options.prefix}:lease:${taskId}`, `${this.options.prefix}:fence:${taskId}`];
  }

  /** The lease and a new fencing token, or null when another process holds it. */
  async acquire(taskId: string): Promise<HeldLease | null> {
    const token = (await this.redis.eval(ACQUIRE, 2, ...this.keys(taskId), this.options.owner, this.ttlMs)) as number | null;
    return token === null ? null : { taskId, token: Number(token) };
  }

  /** Extends the lease; false when it was lost (expired and maybe taken over). */
  async renew(lease: HeldLease): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, this.keys(lease.taskId)[0], `${this.options.owner}:${lease.token}`, this.ttlMs)) === 1;
  }

  async release(lease: HeldLease): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.keys(lease.taskId)[0], `${this.options.owner}:${lease.token}`);
  }

  /**
   * Redis lost the token counter (a restart without persistence): tokens would start again below the
   * database's fence and every takeover would be refused. Moves the counter up to `atLeast`.
   */
  async resumeTokensFrom(taskId: string, atLeast: number): Promise<void> {
    await this.redis.eval(RAISE_COUNTER, 1, this.keys(taskId)[1], atLeast);
  }

  /** Which of `taskIds` nobody holds now (one round trip, however many tasks): the ones worth an acquire. */
  async free(taskIds: readonly string[]): Promise<string[]> {
    if (taskIds.length === 0) return [];
    const held = await this.redis.mget(...taskIds.map((id) => this.keys(id)[0]));
    return taskIds.filter((_, i) => held[i] === null);
  }

  /** The current holder's process id and token, or null. */
  async holder(taskId: string): Promise<{ owner: string; token: number } | null> {
    const v = await this.redis.get(this.keys(taskId)[0]);
    if (v === null) return null;
    const at = v.lastIndexOf(':');
    return { owner: v.slice(0, at), token: Number(v.slice(at + 1)) };
  }

  /**
   * Renews `lease` every third of the lease time until stopped; `onLost` runs once when a renewal
   * fails (the lease expired, or Redis did not answer in time), and renewing stops.
   */
  keep(lease: HeldLease, onLost: (reason: string) => void): () => void {
    let stopped = false;
    const timer = setInterval(() => {
      this.renew(lease).then(
        (ok) => {
          if (ok || stopped) return;
          stop();
          onLost('lease expired or taken over');
        },
        (err: unknown) => {
          if (stopped) return;
          stop();
          onLost(`lease renewal failed: ${(err as Error).message}`);
        },
      );
    }, Math.max(50, Math.floor(this.ttlMs / 3)));
    const stop = (): void => {
      stopped = true;
      clearInterval(timer);
    };
    return stop;
  }
}
