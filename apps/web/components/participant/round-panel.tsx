import type { ParticipantState } from '@chorus/client';
import { ProgressBar } from './progress-bar.js';

/** The current round: download, local training (epoch and batch), upload. */
export function RoundPanel({ state }: { readonly state: ParticipantState }) {
  const p = state.progress;
  const training = p.epochs > 0 ? `epoch ${p.epoch} of ${p.epochs}, batch ${p.batch} of ${p.batchesPerEpoch}` : undefined;
  return (
    <section className="card" aria-labelledby="round-title">
      <h2 id="round-title">
        {p.round ? <>This round: <span data-testid="round-number">#{p.round}</span></> : 'Waiting for the next round'}
      </h2>
      {!p.round && <p className="muted">The server invites a few browsers at a time. Keep this tab open; nothing to do.</p>}
      <ProgressBar testId="progress-download" label="Downloading the shared model" fraction={p.download} />
      <ProgressBar testId="progress-train" label="Training on your device" fraction={p.train} {...(training ? { detail: training } : {})} />
      <ProgressBar testId="progress-upload" label="Sending the update" fraction={p.upload} />
    </section>
  );
}
