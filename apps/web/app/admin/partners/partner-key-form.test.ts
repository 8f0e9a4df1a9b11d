import { describe, expect, it } from 'vitest';
import { bodyOf, EMPTY_DRAFT } from './partner-key-form.js';

describe('bodyOf', () => {
  it('turns the form into the request body: lists by line or comma, the id only when creating', () => {
    const draft = { ...EMPTY_DRAFT, id: 'pk_news', name: ' News ', origins: 'https://news.example\n http://localhost:* ,', tasks: 'mnist-demo, spam', quota: '50' };

    expect(bodyOf(draft, true)).toEqual({ body: { id: 'pk_news', name: 'News', allowedOrigins: ['https://news.example', 'http://localhost:*'], allowedTasks: ['mnist-demo', 'spam'], quotaPerDay: 50, active: true, storageFallback: 'memory' } });
    expect(bodyOf({ ...draft, active: false }, false)).toEqual({ body: { name: 'News', allowedOrigins: ['https://news.example', 'http://localhost:*'], allowedTasks: ['mnist-demo', 'spam'], quotaPerDay: 50, active: false, storageFallback: 'memory' } });
    expect(bodyOf({ ...draft, id: '' }, true)).toMatchObject({ body: { name: 'News' } });
    expect(bodyOf({ ...draft, storageFallback: 'link' }, false)).toMatchObject({ body: { storageFallback: 'link' } });
    expect('id' in (bodyOf({ ...draft, id: '' }, true) as { body: object }).body).toBe(false);
  });

  it('says what is missing in plain words', () => {
    expect(bodyOf({ ...EMPTY_DRAFT, name: 'X' }, true)).toEqual({ error: 'List at least one site origin, like https://news.example.' });
    expect(bodyOf({ ...EMPTY_DRAFT, name: 'X', origins: 'https://a.example', quota: '1.5' }, true)).toEqual({ error: 'Visitors per day must be a whole number (0 means no limit).' });
  });
});
