/**
 * Runs jobs one after another, yielding the event loop (setImmediate) once a turn has used
 * `sliceMs`. Folding an update into the round (parse, norm check, fold) takes a millisecond for the
 * 2NN and several for the CNN; when a thousand uploads end in the same poll phase, running each fold
 * inside its socket's callback kept timers and /healthz waiting for seconds. Queued here, the folds
 * run in order a slice at a time, and everything else gets a turn between slices.
 */
export class YieldingQueue {
  private readonly jobs: (() => void)[] = [];
  private scheduled = false;

  /**
   * @param sliceMs work done per turn before yielding. @default 10
   * @param maxPerTurn jobs per turn at most, for jobs whose cost lands after they return (a reply
   * whose write waits for an async hook): the slice cannot see that cost, a count bounds it. @default Infinity
   */
  constructor(
    private readonly sliceMs = 10,
    private readonly maxPerTurn = Infinity,
  ) {}

  /** Resolves (or rejects) with `job`'s result once its turn comes. */
  run<T>(job: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.jobs.push(() => {
        try {
          resolve(job());
        } catch (err) {
          reject(err);
        }
      });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.drain);
      }
    });
  }

  /** Jobs waiting (tests, metrics). */
  pending(): number {
    return this.jobs.length;
  }

  private readonly drain = (): void => {
    const until = performance.now() + this.sliceMs;
    let ran = 0;
    while (this.jobs.length > 0) {
      this.jobs.shift()!();
      if (++ran >= this.maxPerTurn || performance.now() >= until) break;
    }
    if (this.jobs.length > 0) setImmediate(this.drain);
    else this.scheduled = false;
  };
}
