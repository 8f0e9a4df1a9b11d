/**
 * Runs async jobs one at a time, in arrival order. The simulator's clients share one tfjs model
 * object, so their training (and the simulator's own evaluation) must never interleave.
 */
export interface SerialQueue {
  run<T>(job: () => Promise<T>): Promise<T>;
}

export function createSerialQueue(): SerialQueue {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run(job) {
      const result = tail.then(job, job);
      tail = result.catch(() => undefined);
      return result;
    },
  };
}
