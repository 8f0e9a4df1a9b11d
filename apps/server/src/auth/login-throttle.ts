import { RateLimiterMemory } from 'rate-limiter-flexible';
import { ChorusError } from '@chorus/core';

export interface LoginThrottleOptions {
  /** Failed logins allowed per client IP per window. @default 20 */
  readonly perIp?: number;
  /** Failed logins allowed per username per window (guessing one account from many IPs). @default 5 */
  readonly perUser?: number;
  /** @default 900 (15 minutes) */
  readonly windowSeconds?: number;
}

/**
 * Counts failed logins per IP and per username (rate-limiter-flexible, in memory). Only failures
 * count, so an operator who types the password right is never slowed down; a success clears the
 * username's count.
 */
export class LoginThrottle {
  private readonly ip: RateLimiterMemory;
  private readonly user: RateLimiterMemory;

  constructor(options: LoginThrottleOptions = {}) {
    const duration = options.windowSeconds ?? 900;
    this.ip = new RateLimiterMemory({ keyPrefix: 'login-ip', points: options.perIp ?? 20, duration });
    this.user = new RateLimiterMemory({ keyPrefix: 'login-user', points: options.perUser ?? 5, duration });
  }

  /** Throws RATE_LIMITED (saying when to retry) while either count is used up. */
  async check(ip: string, username: string): Promise<void> {
    for (const [limiter, key, what] of [[this.ip, ip, 'from this address'], [this.user, username.toLowerCase(), 'for this account']] as const) {
      const res = await limiter.get(key);
      if (res && res.consumedPoints >= limiter.points) {
        const minutes = Math.max(1, Math.ceil(res.msBeforeNext / 60_000));
        throw new ChorusError('RATE_LIMITED', `too many failed sign-ins ${what}: try again in ${minutes} minute${minutes === 1 ? '' : 's'}`);
      }
    }
  }

  async failed(ip: string, username: string): Promise<void> {
    await Promise.all([this.ip.penalty(ip, 1), this.user.penalty(username.toLowerCase(), 1)]);
  }

  async succeeded(username: string): Promise<void> {
    await this.user.delete(username.toLowerCase());
  }
}
