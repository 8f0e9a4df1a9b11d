import { describe, expect, it } from 'vitest';
import type { PersonalizationInfo } from '@chorus/core';
import { personalModelText, privacyPersonalText } from './personal-text.js';

const fedper: PersonalizationInfo = { method: 'fedper', personalLayers: ['output'], headEpochs: 1, lambda: 1, chooseByValidation: true, holdoutFraction: 0.2 };
const ditto: PersonalizationInfo = { ...fedper, method: 'ditto', personalLayers: [], lambda: 0.5 };

describe('the participant page on a personalized task', () => {
  it('FedPer and FedRep: the first figure is named for what it is, before this round’s training; Ditto’s is the shared model', () => {
    expect(personalModelText(fedper)).toEqual({
      description: 'Part of this model (output) stays on this device and learns from your examples only.',
      sharedLabel: "Before this round's training",
      sharedNote: 'the new shared part with your part from the round before',
    });
    expect(personalModelText({ ...fedper, method: 'fedrep' }).sharedLabel).toBe("Before this round's training");
    expect(personalModelText({ ...fedper, method: 'fedrep' }).description).toContain('(trained first each round, then the shared part)');
    expect(personalModelText(ditto)).toMatchObject({ sharedLabel: 'Shared model', description: expect.stringContaining('strength 0.5') });
  });

  it('the privacy card under DP: the personal layers add nothing to ε, and the held-out accuracy is not sent', () => {
    expect(privacyPersonalText(fedper, { central: true, local: false })).toBe(
      'The personal part of the model (output) never leaves this device: it is never sent, so it adds nothing to the privacy cost (ε) above. Your accuracy on your held-out examples is not sent either: nothing would add noise to it.',
    );
    expect(privacyPersonalText(ditto, { central: false, local: true })).toBe(
      'Your own copy of the model never leaves this device: it is never sent, so it adds nothing to the privacy cost (ε) of the noise added on this device. Your accuracy on your held-out examples is not sent either: nothing would add noise to it.',
    );
  });

  it('the privacy card without DP says the held-out accuracy goes with the update, seen only as an average', () => {
    const t = privacyPersonalText(fedper, { central: false, local: false });
    expect(t).toMatch(/^The personal part of the model \(output\) never leaves this device: it is never sent\. /);
    expect(t).toContain('averaged over at least 3 participants');
    expect(t).not.toContain('ε');
  });
});
