import type { TaskSummary } from './types.js';

type Personalization = NonNullable<TaskSummary['config']['personalization']>;

/** The words of the console's personalization panel for a task's method and privacy. */
export interface PersonalizationPanelText {
  /** What stays on each device, and how the figures below are measured. */
  readonly summary: string;
  /** Label of the mean held-out accuracy before each device's own training or model. */
  readonly sharedLabel: string;
  readonly ownLabel: string;
  readonly gainTitle: string;
  /** Why the round figures are missing, when they are. */
  readonly missing: string;
}

const pct = (x: number): string => `${Math.round(x * 100)}%`;

/**
 * FedPer and FedRep score the downloaded shared layers with each device's head as the last round
 * left it, before this round's training: that is not "the shared model" (there is no shared head),
 * so the label says what it is. Ditto's device scores the downloaded whole model: that one is.
 */
export function personalizationPanelText(p: Personalization, task: Pick<TaskSummary, 'config'>): PersonalizationPanelText {
  const held = `Each device keeps ${pct(p.holdoutFraction)} of its examples out of training and scores`;
  const dp = task.config.privacy?.localDp !== undefined || task.config.strategy.options?.dp !== undefined;
  const missing = dp
    ? 'This task is differentially private: devices keep their held-out figures to themselves (nothing would noise them), so none are shown here.'
    : 'The figures are shown once a round has at least 3 participants reporting them (fewer would reveal individual figures).';
  if (p.method === 'ditto') {
    const lambda = p.lambda === undefined ? '' : ` (λ = ${p.lambda})`;
    const choice = p.chooseByValidation === false ? '' : ' A device uses its own copy only where it beats the shared model on a validation part of its examples.';
    return {
      summary: `Ditto: the whole model is shared; each device also trains its own copy, pulled towards the shared model${lambda}, which never reaches the server.${choice} ${held} the shared model and its own every round.`,
      sharedLabel: 'Shared model, mean on devices',
      ownLabel: 'Own models, mean on devices',
      gainTitle: 'Median gain of own models over the shared one (points)',
      missing,
    };
  }
  const listed = p.personalLayers ?? [];
  const layers = listed.length > 0 ? `${listed.join(', ')} ${listed.length === 1 ? 'stays' : 'stay'}` : 'the output head stays';
  const name = p.method === 'fedrep' ? 'FedRep' : 'FedPer';
  return {
    summary: `${name}: ${layers} on each device and never reach the server. ${held} the new shared layers with its own layers as last round left them, before this round's training, and its own model after it.`,
    sharedLabel: "Before this round's training (new shared layers, each device's previous own layers), mean on devices",
    ownLabel: "Own models after this round's training, mean on devices",
    gainTitle: "Median gain of this round's training on devices' own examples (points)",
    missing,
  };
}
