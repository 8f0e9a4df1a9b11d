import { describe, expect, it } from 'vitest';
import { personalizationPanelText } from './personalization-panel-model.js';
import type { TaskSummary } from './types.js';

const task = (personalization: NonNullable<TaskSummary['config']['personalization']>, extra: Partial<TaskSummary['config']> = {}): Pick<TaskSummary, 'config'> => ({
  config: { codec: 'int8', strategy: { id: 'fedavg', options: {} }, personalization, rounds: { targetClients: 3, minClients: 3, deadlineMs: 1, maxRounds: 1, backends: [], minExamples: 1 }, training: { localEpochs: 1, batchSize: 10, learningRate: 0.1 }, ...extra },
});
const text = (t: Pick<TaskSummary, 'config'>) => personalizationPanelText(t.config.personalization!, t);

describe('personalization panel words', () => {
  it('Ditto: names Ditto, its λ and the validation choice, and calls the downloaded model the shared model', () => {
    // A Ditto task is stored with no personal layers: the FedPer words would read "FedPer:  stay on each device".
    const t = text(task({ method: 'ditto', personalLayers: [], holdoutFraction: 0.2, lambda: 0.5, chooseByValidation: true }));
    expect(t.summary).toBe(
      'Ditto: the whole model is shared; each device also trains its own copy, pulled towards the shared model (λ = 0.5), which never reaches the server. A device uses its own copy only where it beats the shared model on a validation part of its examples. Each device keeps 20% of its examples out of training and scores the shared model and its own every round.',
    );
    expect(t.sharedLabel).toBe('Shared model, mean on devices');
    expect(text(task({ method: 'ditto', personalLayers: [], holdoutFraction: 0.2, lambda: 1, chooseByValidation: false })).summary).not.toContain('validation');
  });

  it('FedPer and FedRep: name the kept layers (the output head when none are listed) and say the first figure is before training', () => {
    const fedper = text(task({ method: 'fedper', personalLayers: ['output'], holdoutFraction: 0.25 }));
    expect(fedper.summary).toBe(
      "FedPer: output stays on each device and never reach the server. Each device keeps 25% of its examples out of training and scores the new shared layers with its own layers as last round left them, before this round's training, and its own model after it.",
    );
    expect(fedper.sharedLabel).toBe("Before this round's training (new shared layers, each device's previous own layers), mean on devices");
    expect(text(task({ method: 'fedrep', personalLayers: [], holdoutFraction: 0.2 })).summary).toMatch(/^FedRep: the output head stays on each device/);
    expect(text(task({ method: 'fedrep', holdoutFraction: 0.2 })).summary).toMatch(/^FedRep: the output head stays/);
    expect(text(task({ method: 'fedper', personalLayers: ['dense2', 'output'], holdoutFraction: 0.2 })).summary).toMatch(/^FedPer: dense2, output stay on each device/);
  });

  it('says why figures are missing: too few participants, or a DP task whose devices keep them', () => {
    const p = { method: 'fedper', personalLayers: ['output'], holdoutFraction: 0.2 } as const;
    expect(text(task(p)).missing).toMatch(/at least 3 participants/);
    expect(text(task(p, { strategy: { id: 'fedavg', options: { dp: { clipNorm: 1, noiseMultiplier: 1 } } } })).missing).toMatch(/^This task is differentially private: devices keep their held-out figures/);
    expect(text(task(p, { privacy: { localDp: { clipNorm: 1, noiseMultiplier: 0.1 } } })).missing).toMatch(/^This task is differentially private/);
  });
});
