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
  return (
    <section className="card" data-testid="secure-aggregation-card">
      <h2>Secure aggregation</h2>
      <p>
        On (SecAgg+): each participant masks its update before it leaves the browser, and the server can only unmask the sum of a round&apos;s updates — never one of
        them. Each participant shares keys with {secure.neighbours} neighbours; {secure.threshold} of them must stay to the end to recover a participant that drops out.
      </p>
      <p className="muted small">
        Because no single update is visible, robust aggregators and per-update norms are not available: updates are clipped on the participants. A round with fewer
        than {secure.threshold + 1} participants left is abandoned and reveals nothing.
      </p>
    </section>
  );
}
