import { describe, expect, it } from 'vitest';
import { templateTrainingFields } from './template-training.js';

describe('templateTrainingFields', () => {
  it("shows a template's training defaults over the platform's, and the platform's for a template without any", () => {
    expect(templateTrainingFields({ batchSize: 20, learningRate: 0.5, maxExamples: 300 })).toEqual({ localEpochs: 1, batchSize: 20, learningRate: 0.5 });
    expect(templateTrainingFields(undefined)).toEqual({ localEpochs: 1, batchSize: 10, learningRate: 0.05 });
  });
});
