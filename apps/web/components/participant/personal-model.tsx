import type { ParticipantState } from '@chorus/client';
import { formatPercent } from '../../lib/format.js';

/**
 * A personalized task: the shared model's and this device's own model's accuracy on examples this
 * device kept out of training, side by side, updated after every round it trains.
 */
export function PersonalModel({ state }: { readonly state: ParticipantState }) {
  const p = state.task?.personalization;
  if (!p) return null;
  const a = state.personalAccuracy;
  const note = a ? `round ${a.round}, on ${a.heldOut} of your examples kept out of training` : 'after your first round';
  return (
    <section className="card" aria-labelledby="personal-title" data-testid="personal-model">
      <h2 id="personal-title">Your own model</h2>
      {p.method === 'ditto' ? (
        <p>
          A whole copy of the model stays on this device and learns from your examples, kept close to the shared model (strength {p.lambda}). It is
          never sent.
        </p>
      ) : (
        <p>
          Part of this model ({p.personalLayers.join(', ')}) stays on this device and learns from your examples only
          {p.method === 'fedrep' ? ' (trained first each round, then the shared part)' : ''}.
        </p>
      )}
      <div className="stats">
        <div className="stat">
          <div className="stat-label">Shared model</div>
          <div className="stat-value" data-testid="personal-shared-accuracy">{formatPercent(a?.shared)}</div>
          <div className="stat-note">{note}</div>
        </div>
        <div className="stat">
          <div className="stat-label">Your model</div>
          <div className="stat-value" data-testid="personal-own-accuracy">{formatPercent(a?.personal)}</div>
          <div className="stat-note">{note}</div>
        </div>
      </div>
    </section>
  );
}
