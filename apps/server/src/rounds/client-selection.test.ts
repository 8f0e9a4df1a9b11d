import { describe, expect, it } from 'vitest';
import { pickRandom, selectionPolicyRegistry, selectionSize } from './client-selection.js';

describe('client selection', () => {
  it('over-selects by the factor, capped by who is available', () => {
    expect([selectionSize(10, 1.3, 100), selectionSize(10, 1.3, 5)]).toEqual([13, 5]);
  });

  it('has the uniform policy registered from the start, picking distinct candidates', () => {
    const uniform = selectionPolicyRegistry.require('uniform');
    const picked = uniform.select(['a', 'b', 'c', 'd'], 3, () => 0);
    expect(picked).toEqual(pickRandom(['a', 'b', 'c', 'd'], 3, () => 0));
    expect(new Set(picked).size).toBe(3);
  });

  it('takes a new policy by id and lets it go again', () => {
    selectionPolicyRegistry.register({ id: 'first', description: 'the first n', select: (c, n) => c.slice(0, n) });
    expect(selectionPolicyRegistry.require('first').select([1, 2, 3], 2, Math.random)).toEqual([1, 2]);
    expect(selectionPolicyRegistry.unregister('first')).toBe(true);
    expect(selectionPolicyRegistry.has('first')).toBe(false);
  });
});
