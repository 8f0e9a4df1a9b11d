import { describe, expect, it } from 'vitest';
import { defaultQuorum } from './simulation-options.js';

describe('defaultQuorum', () => {
  it('is half the round target, at least one', () => {
    expect(defaultQuorum(10)).toBe(5);
    expect(defaultQuorum(3)).toBe(2);
    expect(defaultQuorum(1)).toBe(1);
  });

  it('never exceeds an asynchronous buffer, whose closes it would refuse', () => {
    expect(defaultQuorum(10, 3)).toBe(3);
    expect(defaultQuorum(10, 5)).toBe(5);
    expect(defaultQuorum(10, 20)).toBe(5);
  });
});
