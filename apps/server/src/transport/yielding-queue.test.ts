import { describe, expect, it } from 'vitest';
import { YieldingQueue } from './yielding-queue.js';

const busy = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

describe('YieldingQueue', () => {
  it('runs jobs in order and hands back each result or error', async () => {
    const q = new YieldingQueue();
    const order: number[] = [];
    const results = await Promise.allSettled([q.run(() => (order.push(1), 'a')), q.run(() => { throw new Error('boom'); }), q.run(() => (order.push(3), 'c'))]);
    expect(order).toEqual([1, 3]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(['a', 'boom', 'c']);
  });

  it('lets a timer run between slices of long work instead of after all of it', async () => {
    const q = new YieldingQueue(5);
    const events: string[] = [];
    // The timer is armed by the first job: armed before it, a setTimeout(0) and the queue's first
    // setImmediate race (which fires first depends on whether a millisecond passed), and the timer
    // could run before any job.
    const jobs = Array.from({ length: 20 }, (_, i) =>
      q.run(() => {
        if (i === 0) setTimeout(() => events.push('timer'), 0);
        busy(3);
        events.push(`job${i}`);
      }),
    );
    await Promise.all(jobs);
    const at = events.indexOf('timer');
    expect(at).toBeGreaterThan(0);
    expect(at).toBeLessThan(events.length - 1);
  });

  it('runs at most maxPerTurn jobs in a turn, however cheap they look', async () => {
    const q = new YieldingQueue(10, 3);
    const events: string[] = [];
    const jobs = Array.from({ length: 7 }, (_, i) => q.run(() => events.push(`job${i}`)));
    setImmediate(() => events.push('turn'));
    await Promise.all(jobs);
    expect(events.indexOf('turn')).toBe(3);
  });
});
