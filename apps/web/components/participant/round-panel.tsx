import type { ParticipantState } from '@chorus/client';
import { ProgressBar } from './progress-bar.js';

/**
 * The current round: download, local training (epoch and batch), upload; whether it is securely
 * aggregated, and the latest receipt. An asynchronous task has no rounds to wait for — the browser
 * trains again on the newest model as soon as its update lands — so it is worded as one update after
 * another, not as numbered rounds.
 */
export function RoundPanel({ state }: { readonly state: ParticipantState }) {
  const p = state.progress;
  const receipt = state.lastReceipt;
  const continuous = state.task?.mode === 'async';
  const training = p.epochs > 0 ? `epoch ${p.epoch} of ${p.epochs}, batch ${p.batch} of ${p.batchesPerEpoch}` : undefined;
  return (
    <section className="card" aria-labelledby="round-title">
      <h2 id="round-title">
        {continuous
          ? p.round
            ? 'Training your next update'
            : 'Ready to train the next update'
          : p.round
            ? <>This round: <span data-testid="round-number">#{p.round}</span></>
            : 'Waiting for the next round'}
      </h2>
      {!p.round &&
        (continuous ? (
          <p className="muted">This task learns continuously: each update is folded into the shared model as it arrives, and the server asks this browser for another on the newest model. Keep this tab open; nothing to do.</p>
        ) : (
          <p className="muted">The server invites a few browsers at a time. Keep this tab open; nothing to do.</p>
        ))}
      <ProgressBar testId="progress-download" label="Downloading the shared model" fraction={p.download} />
      <ProgressBar testId="progress-train" label="Training on your device" fraction={p.train} {...(training ? { detail: training } : {})} />
      <ProgressBar testId="progress-upload" label={p.secureParticipants ? 'Sending the masked update' : 'Sending the update'} fraction={p.upload} />
      {p.secureParticipants !== undefined && (
        <p data-testid="secure-aggregation-label">
          <strong>Securely aggregated:</strong> your update leaves this device masked; the server sees only the sum of the {p.secureParticipants} participants&apos; updates, never yours alone.
        </p>
      )}
      {receipt && (
        <p className="muted" data-testid="round-receipt">
          {continuous ? 'Your last update' : `Receipt for round #${receipt.round}`}: {receipt.accepted ? 'accepted' : 'not accepted'}
          {receipt.note ? ` — ${receipt.note}` : ''}
        </p>
      )}
    </section>
  );
}
