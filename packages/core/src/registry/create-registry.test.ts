import { describe, expect, it } from 'vitest';
import { ChorusError } from '../errors/chorus-error.js';
import { createRegistry } from './create-registry.js';

interface Thing {
  readonly id: string;
  readonly size: number;
}

const make = () => createRegistry<Thing>({ kind: 'thing', idOf: (t) => t.id, field: 'config.thing', initial: [{ id: 'a', size: 1 }] });

function errorOf(fn: () => unknown): ChorusError {
  try {
    fn();
  } catch (e) {
    return e as ChorusError;
  }
  throw new Error('did not throw');
}

describe('createRegistry', () => {
  it('starts with its initial entries and registers, gets, lists and unregisters by id', () => {
    // Prepare
    const r = make();

    // Execute
    r.register({ id: 'b', size: 2 });

    // Assert
    expect(r.get('a')).toEqual({ id: 'a', size: 1 });
    expect(r.list().map((t) => t.id)).toEqual(['a', 'b']);
    expect(r.unregister('b')).toBe(true);
    expect(r.unregister('b')).toBe(false);
    expect([r.has('b'), r.get('b')]).toEqual([false, undefined]);
  });

  it('refuses an id already taken, naming it', () => {
    const e = errorOf(() => make().register({ id: 'a', size: 9 }));
    expect([e.code, e.message]).toEqual(['INVALID_CONFIG', 'thing "a" is already registered']);
  });

  it('lets an entry be replaced after it is unregistered', () => {
    const r = make();
    r.unregister('a');
    r.register({ id: 'a', size: 9 });
    expect(r.require('a').size).toBe(9);
  });

  it('names the field, the unknown id and the known ones when require fails', () => {
    const e = errorOf(() => make().require('zz'));
    expect([e.code, e.message]).toEqual(['INVALID_CONFIG', 'config.thing: unknown thing "zz" (known: a)']);
    const codec = createRegistry<Thing>({ kind: 'codec', idOf: (t) => t.id, unknownCode: 'UNKNOWN_CODEC' });
    expect(errorOf(() => codec.require('x')).code).toBe('UNKNOWN_CODEC');
  });

  it('runs the extra check before registering', () => {
    const r = createRegistry<Thing>({
      kind: 'thing',
      idOf: (t) => t.id,
      validate: (t, existing) => {
        if (existing.some((e) => e.size === t.size)) throw new ChorusError('INVALID_CONFIG', `size ${t.size} is taken`);
      },
      initial: [{ id: 'a', size: 1 }],
    });
    expect(errorOf(() => r.register({ id: 'b', size: 1 })).message).toBe('size 1 is taken');
    expect(r.has('b')).toBe(false);
  });
});
