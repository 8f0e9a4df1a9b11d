'use client';

import type { TaskSummary } from './types.js';

/** The task's SecAgg+ options, when it has them. */
export function taskSecureAggregation(task: TaskSummary): TaskSummary['config']['secureAggregation'] {
  return task.config.secureAggregation;
}

/** The words a securely aggregated, committed round is labelled with (console and tests read the same). */
export function securelyAggregatedLabel(participants: number): string {
  return `Securely aggregated: the server saw only the sum of ${participants} update${participants === 1 ? '' : 's'}`;
}

/** What secure aggregation means for this task, in plain words; nothing for a task without it. */
export function SecureAggregationCard({ task }: { task: TaskSummary }) {
  const secure = taskSecureAggregation(task);
  if (!secure) return null;
  // An asynchronous task has no rounds: it sums cohorts of bufferSize participants (see STRATEGIES.md).
  const cohort = task.config.mode === 'async' ? (task.config.async?.bufferSize ?? null) : null;
  const sum = cohort !== null ? `each cohort’s updates (${cohort} participants at a time)` : 'a round’s updates';
  return (
    <section className="card" data-testid="secure-aggregation-card">
      <h2>Secure aggregation</h2>
      <p>
        On (SecAgg+): each participant masks its update before it leaves the browser, and the server can only unmask the sum of {sum} — never one of
        them. Each participant shares keys with {secure.neighbours} neighbours; {secure.threshold} of them must stay to the end to recover a participant that drops out.
        {cohort !== null ? ' Each unmasked cohort sum enters the buffer as one entry, weighted by its staleness.' : ''}
      </p>
      <p className="muted small">
        Because no single update is visible, robust aggregators and per-update norms are not available: updates are clipped on the participants. {cohort !== null ? 'A cohort' : 'A round'} with fewer
        than {secure.threshold + 1} participants left is abandoned and reveals nothing.
      </p>
    </section>
  );
}
