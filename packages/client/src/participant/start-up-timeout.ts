import { ChorusError } from '@chorus/core';

/**
 * Default limits for the start-up steps a visitor waits on. Each failure becomes a specific,
 * visible message instead of an endless "Connecting…".
 */
export const START_UP_TIMEOUTS = {
  /** Opening this browser's storage (IndexedDB). */
  storageMs: 10_000,
  /** Reaching the server and joining the task (the session keeps trying afterwards). */
  connectMs: 15_000,
  /** Downloading the model and measuring the training backends. */
  prepareMs: 120_000,
  /** Downloading the demo data. */
  demoDataMs: 30_000,
} as const;

/** `work`, or a TIMEOUT ChorusError saying which step took too long. */
export async function withTimeout<T>(work: Promise<T>, ms: number, step: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ChorusError('TIMEOUT', `${step} took longer than ${Math.round(ms / 1000)} s`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
