import { describe, expect, it } from 'vitest';
import { checkEmbedding, normalizeOrigin, parseVisitLimits, restAfterTraining } from './frame-rules.js';

describe('checkEmbedding', () => {
  const partner = 'http://127.0.0.1:4173';

  it('accepts a parent param that agrees with ancestorOrigins or the referrer', () => {
    expect(checkEmbedding({ framed: true, parentParam: partner, ancestorOrigin: partner })).toEqual({ ok: true, origin: partner });
    expect(checkEmbedding({ framed: true, parentParam: partner, referrer: `${partner}/shop?id=1` })).toEqual({ ok: true, origin: partner });
    expect(checkEmbedding({ framed: true, parentParam: partner })).toEqual({ ok: true, origin: partner });
  });

  it('refuses a forged parent, a missing one, and a page that is not framed', () => {
    expect(checkEmbedding({ framed: true, parentParam: 'https://allowed.example', ancestorOrigin: 'https://evil.example' })).toEqual({
      ok: false,
      reason: 'The page embedding Chorus (https://evil.example) is not the site it claims to be (https://allowed.example).',
    });
    expect(checkEmbedding({ framed: true, parentParam: 'https://allowed.example/path' })).toEqual({ ok: false, reason: 'The embedding site did not say which site it is.' });
    expect(checkEmbedding({ framed: false, parentParam: partner })).toEqual({ ok: false, reason: 'This page only works inside a partner site that embeds Chorus.' });
  });
});

describe('normalizeOrigin', () => {
  it('keeps origins and rejects everything else', () => {
    expect(['https://a.example', 'https://a.example/', 'http://a.example:80', 'https://a.example/x', 'null', 'javascript:alert(1)', ''].map(normalizeOrigin)).toEqual([
      'https://a.example',
      'https://a.example',
      null,
      null,
      null,
      null,
      null,
    ]);
  });
});

describe('visit limits', () => {
  it('defaults to half the wall time and 10 minutes, and clamps what a partner asks for', () => {
    expect(parseVisitLimits(new URLSearchParams(''))).toEqual({ dutyCycle: 0.5, budgetMs: 600_000 });
    expect(parseVisitLimits(new URLSearchParams('duty=0.25&budget=60'))).toEqual({ dutyCycle: 0.25, budgetMs: 60_000 });
    expect(parseVisitLimits(new URLSearchParams('duty=5&budget=1'))).toEqual({ dutyCycle: 1, budgetMs: 10_000 });
    expect(parseVisitLimits(new URLSearchParams('duty=0&budget=99999'))).toEqual({ dutyCycle: 0.1, budgetMs: 3_600_000 });
  });

  it('rests as long as needed to keep training at the duty cycle', () => {
    expect([restAfterTraining(1000, 0.5), restAfterTraining(1000, 0.25), restAfterTraining(1000, 1), restAfterTraining(0, 0.5)]).toEqual([1000, 3000, 0, 0]);
  });
});
