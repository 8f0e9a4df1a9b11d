import type { PersonalizationInfo } from '@chorus/core';

/** The words of the participant page's "Your own model" card for the task's method. */
export interface PersonalModelText {
  readonly description: string;
  /** Label of the accuracy this device measured before its own training or model. */
  readonly sharedLabel: string;
  /** What that figure is, beside the round and the held-out count. */
  readonly sharedNote: string;
}

/**
 * FedPer and FedRep measure the newly downloaded shared part with this device's own part as the last
 * round left it, before this round's training: there is no shared head, so it is not "the shared
 * model" and is not called that. Ditto measures the downloaded whole model, which is.
 */
export function personalModelText(p: PersonalizationInfo): PersonalModelText {
  if (p.method === 'ditto') {
    return {
      description: `A whole copy of the model stays on this device and learns from your examples, kept close to the shared model (strength ${p.lambda}). It is never sent.`,
      sharedLabel: 'Shared model',
      sharedNote: 'as downloaded this round',
    };
  }
  return {
    description: `Part of this model (${p.personalLayers.join(', ')}) stays on this device and learns from your examples only${p.method === 'fedrep' ? ' (trained first each round, then the shared part)' : ''}.`,
    sharedLabel: "Before this round's training",
    sharedNote: 'the new shared part with your part from the round before',
  };
}

/**
 * The privacy card's paragraph on personalization. The personal layers (Ditto: the personal copy)
 * are never sent, so they add nothing to ε; under DP the held-out accuracies stay on the device
 * too, because nothing would noise them.
 */
export function privacyPersonalText(p: PersonalizationInfo, dp: { readonly central: boolean; readonly local: boolean }): string {
  const part = p.method === 'ditto' ? 'Your own copy of the model' : `The personal part of the model (${p.personalLayers.join(', ')})`;
  if (dp.central || dp.local) {
    const cost = dp.central ? 'the privacy cost (ε) above' : 'the privacy cost (ε) of the noise added on this device';
    return `${part} never leaves this device: it is never sent, so it adds nothing to ${cost}. Your accuracy on your held-out examples is not sent either: nothing would add noise to it.`;
  }
  // A securely aggregated round sends no metrics at all, hence "unless".
  return `${part} never leaves this device: it is never sent. Your accuracy on your held-out examples goes with your update (unless the round is securely aggregated), and the task's operator sees it only averaged over at least 3 participants.`;
}
