import type { ParticipantState } from '@chorus/client';
import { formatPercent } from '../../lib/format.js';
import { personalModelText } from './personal-text.js';

/**
 * A personalized task: this device's accuracy on examples it kept out of training before its own
 * training or model (personalModelText says which) and with its own model, side by side, updated
 * after every round it trains.
 */
export function PersonalModel({ state }: { readonly state: ParticipantState }) {
  const p = state.task?.personalization;
  if (!p) return null;
  const a = state.personalAccuracy;
  const note = a ? `round ${a.round}, on ${a.heldOut} of your examples kept out of training` : 'after your first round';
  const text = personalModelText(p);
  return (
    <section className="card" aria-labelledby="personal-title" data-testid="personal-model">
      <h2 id="personal-title">Your own model</h2>
      <p data-testid="personal-description">{text.description}</p>
      <div className="stats">
        <div className="stat">
          <div className="stat-label" data-testid="personal-shared-label">{text.sharedLabel}</div>
          <div className="stat-value" data-testid="personal-shared-accuracy">{formatPercent(a?.shared)}</div>
          <div className="stat-note">{a ? `${text.sharedNote}; ${note}` : note}</div>
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
