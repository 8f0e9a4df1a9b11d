import { ChorusError, type PartnerKeyRecord } from '@chorus/core';

export type PartnerKey = PartnerKeyRecord;

export interface AccessRefusal {
  readonly allowed: false;
  readonly code: 'NOT_FOUND' | 'FORBIDDEN' | 'RATE_LIMITED' | 'BAD_REQUEST';
  readonly reason: string;
}
export type AccessVerdict = { readonly allowed: true } | AccessRefusal;

export const PARTNER_KEY_PATTERN = /^pk_[A-Za-z0-9_-]{1,100}$/;

const ORIGIN_PATTERN = /^(https?):\/\/([a-z0-9.-]+|\[[0-9a-f:]+\])(?::(\d{1,5}|\*))?$/;

/** Throws a plain-words message when `pattern` is not an origin or origin-with-port-wildcard. */
export function checkOriginPattern(pattern: string): void {
  if (!ORIGIN_PATTERN.test(pattern)) throw new ChorusError('INVALID_CONFIG', `allowedOrigins: "${pattern}" is not an origin like "https://site.example" or "http://localhost:*"`);
}

/** Whether a browser origin ("http://127.0.0.1:5173") matches one of the key's patterns. */
export function originMatches(patterns: readonly string[], origin: string): boolean {
  const m = ORIGIN_PATTERN.exec(origin);
  if (!m || m[3] === '*') return false;
  for (const p of patterns) {
    if (p === origin) return true;
    const pm = ORIGIN_PATTERN.exec(p);
    if (pm && pm[3] === '*' && pm[1] === m[1] && pm[2] === m[2]) return true;
  }
  return false;
}

export const refusedOrigin = (origin: string): AccessRefusal => ({
  allowed: false,
  code: 'FORBIDDEN',
  reason: `This site (${origin}) is not allowed to contribute to this Chorus task.`,
});

/** The rules without the quota (which needs the day's visitor count). */
export function checkAccess(key: PartnerKey | null, taskId: string, origin: string): AccessVerdict {
  if (!key || !key.active) return { allowed: false, code: 'NOT_FOUND', reason: 'This partner key is unknown or was switched off.' };
  if (!key.allowedTasks.includes('*') && !key.allowedTasks.includes(taskId)) {
    return { allowed: false, code: 'FORBIDDEN', reason: `This partner key may not be used for the task "${taskId}".` };
  }
  if (!originMatches(key.allowedOrigins, origin)) return refusedOrigin(origin);
  return { allowed: true };
}

/** UTC day, the unit of the visitor quota. */
export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
