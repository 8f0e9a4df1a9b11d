import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { memoryLimiters, type LimiterFactory } from '../cluster/rate-limiters.js';
import { ChorusError } from '@chorus/core';

export interface LoginThrottleOptions {
  /** Sign-in attempts allowed per client IP per window, whatever the account. @default 20 */
  readonly perIp?: number;
  /** Sign-in attempts allowed per (username, client IP) pair per window. @default 5 */
  readonly perUserIp?: number;
  /** Failures on one username (from any address) before its sign-ins start to be slowed down. @default 5 */
  readonly perUserFree?: number;
  /** First delay once perUserFree is used up; it doubles with each further failure. @default 1000 */
  readonly delayMs?: number;
  /** Longest delay: the account's owner waits at most this long, however hard it is attacked. @default 10000 */
  readonly maxDelayMs?: number;
  /** @default 900 (15 minutes) */
  readonly windowSeconds?: number;
  /** How a delay is waited out (tests record it instead). @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Where attempts are counted: memory (one process) or Redis (every process). @default memoryLimiters */
  readonly limiters?: LimiterFactory;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Slows password guessing without letting a stranger lock an account's owner out. Refusals
 * (RATE_LIMITED) only hit the address that guesses: per IP, and per (username, IP). Failures on a
 * username from everywhere only add a delay before the answer, doubling and capped at maxDelayMs,
 * so a distributed guesser is slowed while the owner, from any address, still signs in.
 * Attempts are counted when they start (so parallel guesses cannot slip past the limit) and given
 * back when they succeed; in memory per process, or in Redis across processes (rate-limiter-flexible).
 */
export class LoginThrottle {
  private readonly ip: RateLimiterAbstract;
  private readonly userIp: RateLimiterAbstract;
  private readonly user: RateLimiterAbstract;
  private readonly free: number;
  private readonly delayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: LoginThrottleOptions = {}) {
    const duration = options.windowSeconds ?? 900;
    const limiter = options.limiters ?? memoryLimiters;
    this.ip = limiter({ keyPrefix: 'login-ip', points: options.perIp ?? 20, duration });
    this.userIp = limiter({ keyPrefix: 'login-user-ip', points: options.perUserIp ?? 5, duration });
    // Never refuses: only counts failures, so its points are far above any real count.
    this.user = limiter({ keyPrefix: 'login-user', points: Number.MAX_SAFE_INTEGER, duration });
    this.free = options.perUserFree ?? 5;
    this.delayMs = options.delayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 10_000;
    this.sleep = options.sleep ?? realSleep;
  }

  /**
   * Counts the attempt against its address and (username, address): RATE_LIMITED, saying when to
   * retry, once either is used up. Then waits the username's delay, if it has failed often lately.
   */
  async begin(ip: string, username: string): Promise<void> {
    const user = username.toLowerCase();
    for (const [limiter, key, what] of [[this.ip, ip, 'from this address'], [this.userIp, `${user}|${ip}`, 'for this account from this address']] as const) {
      try {
        await limiter.consume(key);
      } catch (res) {
        const minutes = Math.max(1, Math.ceil(((res as { msBeforeNext?: number }).msBeforeNext ?? 60_000) / 60_000));
        throw new ChorusError('RATE_LIMITED', `too many sign-ins ${what}: try again in ${minutes} minute${minutes === 1 ? '' : 's'}`);
      }
    }
    const delay = this.delayFor((await this.user.get(user))?.consumedPoints ?? 0);
    if (delay > 0) await this.sleep(delay);
  }

  /** The wait before answering a sign-in to a username that has failed `failures` times lately. */
  delayFor(failures: number): number {
    if (failures < this.free) return 0;
    return Math.min(this.maxDelayMs, this.delayMs * 2 ** Math.min(30, failures - this.free));
  }

  async failed(username: string): Promise<void> {
    await this.user.penalty(username.toLowerCase(), 1);
  }

  /** The right password: this address's attempts on the account are forgiven, and the delay ends. */
  async succeeded(ip: string, username: string): Promise<void> {
    const user = username.toLowerCase();
    await Promise.all([this.userIp.delete(`${user}|${ip}`), this.ip.reward(ip, 1), this.user.delete(user)]);
  }
}
