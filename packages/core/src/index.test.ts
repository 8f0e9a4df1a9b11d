import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as core from './index.js';

describe('public surface of @chorus/core', () => {
  it('names every export (no export *) and exports no test kit', () => {
    const source = readFileSync(new URL('./index.ts', import.meta.url), 'utf8');
    expect(source).not.toMatch(/export \*/);
    expect(source).not.toMatch(/test-helper|fixture|test-kit/);
  });

  it('offers the same register/get/unregister verbs for strategies, aggregators and codecs', () => {
    for (const verb of ['register', 'get', 'unregister']) {
      for (const kind of ['Strategy', 'Aggregator', 'Codec']) expect(typeof (core as Record<string, unknown>)[`${verb}${kind}`], `${verb}${kind}`).toBe('function');
    }
  });
});
