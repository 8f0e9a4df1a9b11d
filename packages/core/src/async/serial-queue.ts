/**
 * Runs async jobs one at a time, in arrival order; a failed job does not stop the ones after it.
 * For work that must never interleave: the simulator's clients share one tfjs model object, and the
 * server's central evaluations share tfjs's one global backend.
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
