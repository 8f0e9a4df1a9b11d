import type { ParticipantState } from '@chorus/client';
import { privacyPersonalText } from './personal-text.js';

const fmt = (x: number): string => (Number.isFinite(x) ? Number(x.toPrecision(3)).toString() : '∞');

/**
 * What privacy this participant's contribution cost, in plain words: the task's current (ε, δ)
 * from the latest model:updated metrics when the server adds DP noise, local DP when this device
 * noises its own update, and a clear "no formal guarantee" otherwise.
 */
export function PrivacyCost({ state }: { readonly state: ParticipantState }) {
  const info = state.task?.privacy;
  const metrics = state.globalModel?.metrics;
  const epsilon = typeof metrics?.epsilon === 'number' ? metrics.epsilon : undefined;
  const delta = typeof metrics?.delta === 'number' ? metrics.delta : info?.central?.targetDelta;
  const central = info?.central !== undefined || epsilon !== undefined;
  const local = info?.localDp;
  const budget = info?.central?.epsilonBudget;
  return (
    <section className="card" aria-labelledby="privacy-title" data-testid="privacy-cost">
      <h2 id="privacy-title">Your privacy</h2>
      {central && (
        <p data-testid="privacy-central">
          {epsilon === undefined
            ? `This task is differentially private: the server adds noise to every combined update. Its privacy cost (ε) is reported after the first round, with δ = ${delta === undefined ? '—' : fmt(delta)}.`
            : `This task is differentially private. So far it has spent ε = ${fmt(epsilon)} with δ = ${delta === undefined ? '—' : fmt(delta)}${budget !== undefined ? ` of a budget of ε = ${fmt(budget)}` : ''}: the smaller ε, the less anyone can learn about whether your data took part.`}
          {budget !== undefined && ' Training stops before the budget would be exceeded.'}
        </p>
      )}
      {local && (
        <p data-testid="privacy-local">
          Before your update leaves this device it is clipped to size {fmt(local.clipNorm)} and random noise (std {fmt(local.clipNorm * local.noiseMultiplier)} per value) is added
          here, so the server never sees your exact update.
        </p>
      )}
      {state.task?.personalization && <p data-testid="privacy-personal">{privacyPersonalText(state.task.personalization, { central, local: local !== undefined })}</p>}
      {!central && !local && (
        <p data-testid="privacy-none">
          No formal privacy guarantee is configured for this task. Your examples never leave this device, but the model update it sends is not noised, so it is not protected by differential privacy.
        </p>
      )}
    </section>
  );
}
