import { describe, expect, it } from 'vitest';
import { createSerialQueue } from './serial-queue.js';

describe('serial queue', () => {
  it('never runs two jobs at once and keeps arrival order, even after a failure', async () => {
    // Prepare
    const queue = createSerialQueue();
    const log: string[] = [];
    const job = (name: string, ms: number, fail = false) => async () => {
      log.push(`${name}:start`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`${name}:end`);
      if (fail) throw new Error(name);
      return name;
    };

    // Execute
    const results = await Promise.allSettled([queue.run(job('a', 15)), queue.run(job('b', 1, true)), queue.run(job('c', 5))]);

    // Assert
    expect(log).toEqual(['a:start', 'a:end', 'b:start', 'b:end', 'c:start', 'c:end']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });
});
