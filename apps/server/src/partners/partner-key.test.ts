import { describe, expect, it } from 'vitest';
import { checkAccess, checkOriginPattern, originMatches, utcDay, type PartnerKey } from './partner-key.js';

const key: PartnerKey = { id: 'pk_news', name: 'News', allowedOrigins: ['https://news.example.com', 'http://localhost:*'], allowedTasks: ['mnist-demo'], quotaPerDay: 10, active: true, storageFallback: 'memory' };

describe('originMatches', () => {
  it('matches exact origins and port wildcards (any port, the default one too), nothing looser', () => {
    const origins = ['https://news.example.com', 'http://localhost:5173', 'http://localhost', 'https://localhost:5173', 'https://evil.news.example.com', 'https://news.example.com.evil.org', 'http://localhost:*', 'null'];

    expect(origins.map((o) => originMatches(key.allowedOrigins, o))).toEqual([true, true, true, false, false, false, false, false]);
  });

  it('refuses patterns that are not origins', () => {
    expect(() => checkOriginPattern('https://*.example.com')).toThrow('allowedOrigins: "https://*.example.com" is not an origin');
    expect(() => checkOriginPattern('https://example.com/path')).toThrow('is not an origin');
  });
});

describe('checkAccess', () => {
  it('says in plain words why a key, task or origin is refused', () => {
    expect(checkAccess(key, 'mnist-demo', 'https://news.example.com')).toEqual({ allowed: true });
    expect(checkAccess(key, 'mnist-demo', 'https://other.example')).toEqual({ allowed: false, code: 'FORBIDDEN', reason: 'This site (https://other.example) is not allowed to contribute to this Chorus task.' });
    expect(checkAccess(key, 'spam', 'https://news.example.com')).toEqual({ allowed: false, code: 'FORBIDDEN', reason: 'This partner key may not be used for the task "spam".' });
    expect(checkAccess({ ...key, active: false }, 'mnist-demo', 'https://news.example.com')).toMatchObject({ allowed: false, code: 'NOT_FOUND' });
    expect(checkAccess(null, 'mnist-demo', 'https://news.example.com')).toMatchObject({ allowed: false, code: 'NOT_FOUND' });
  });

  it('counts quota days in UTC', () => {
    expect(utcDay(Date.UTC(2026, 10, 28, 23, 59))).toBe('2026-11-28');
  });
});
