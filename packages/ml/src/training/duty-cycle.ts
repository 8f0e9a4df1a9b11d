import { ChorusError } from '@chorus/core';

/** What trainLocal tells its `afterBatch` hook about the batch it just finished. */
export interface BatchTiming {
  readonly epoch: number;
  readonly batch: number;
  /** Busy time of this batch (forward, backward, optimizer step, reading the loss). */
  readonly batchMs: number;
}

export type AfterBatch = (timing: BatchTiming) => void | Promise<void>;

/** Throws unless 0 < dutyCycle ≤ 1, naming the option. */
export function checkDutyCycle(dutyCycle: number, where = 'dutyCycle'): void {
  if (!(dutyCycle > 0 && dutyCycle <= 1)) throw new ChorusError('INVALID_CONFIG', `${where}: expected a share of the CPU time with 0 < dutyCycle ≤ 1, got ${dutyCycle}`);
}

/** How long to rest after `busyMs` of work so work is `dutyCycle` of the wall time: busy × (1 − d) / d. */
export function restFor(busyMs: number, dutyCycle: number): number {
  if (!(busyMs > 0) || dutyCycle >= 1) return 0;
  return (busyMs * (1 - dutyCycle)) / dutyCycle;
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An `afterBatch` hook that keeps training to `dutyCycle` of the CPU: after each batch it sleeps in
 * proportion to that batch, so a page or partner site stays responsive all through a round instead
 * of freezing for a whole round and then resting.
 */
export function dutyCyclePause(dutyCycle: number, sleep: (ms: number) => Promise<void> = realSleep): AfterBatch {
  checkDutyCycle(dutyCycle);
  return async ({ batchMs }) => {
    const ms = restFor(batchMs, dutyCycle);
    if (ms > 0) await sleep(ms);
  };
}
