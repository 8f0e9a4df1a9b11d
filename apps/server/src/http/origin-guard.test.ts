import { describe, expect, it } from 'vitest';
import { originMayUseCredentials, requestOrigin } from './origin-guard.js';

describe('which origins may act with the session cookie', () => {
  const allowed = ['http://localhost:3000', '*'];

  it('accepts named origins, our own origin and callers that name none', () => {
    expect(originMayUseCredentials(allowed, 'http://localhost:3000', 'api.example:8080')).toBe(true);
    expect(originMayUseCredentials(allowed, 'https://api.example:8080', 'api.example:8080')).toBe(true);
    expect(originMayUseCredentials(allowed, undefined, 'api.example:8080')).toBe(true);
  });

  it("refuses everyone else, even when '*' lets anonymous participants in", () => {
    expect(originMayUseCredentials(allowed, 'https://evil.example', 'api.example:8080')).toBe(false);
    expect(originMayUseCredentials(allowed, 'http://localhost:3001', 'localhost:8080')).toBe(false);
    expect(originMayUseCredentials(allowed, 'null', 'api.example:8080')).toBe(false);
    expect(originMayUseCredentials(allowed, 'not a url', 'api.example:8080')).toBe(false);
  });

  it("reads the Referer's origin when Origin is missing", () => {
    expect(requestOrigin({ referer: 'https://evil.example/a/b?c' })).toBe('https://evil.example');
    expect(requestOrigin({ origin: 'http://localhost:3000', referer: 'https://evil.example/' })).toBe('http://localhost:3000');
    expect(requestOrigin({ referer: '::' })).toBe('null');
    expect(requestOrigin({})).toBeUndefined();
  });
});
