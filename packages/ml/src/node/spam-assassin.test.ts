import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '@chorus/core';
import { createInitialModel, modelFromTopology } from '../models/model-weights.js';
import { evaluateModel } from '../training/evaluate.js';
import { trainLocal } from '../training/train-local.js';
import { initNodeBackend } from './node-backend.js';
import { emailsToDataset, loadSpamAssassinEmails, spamAssassinSplit, spamAssassinVocabulary } from './spam-assassin.js';

describe('SpamAssassin spam filter', () => {
  it('loads 6,046 emails, 1,896 of them spam (spam-1: 500, spam-2: 1,396), split 4,837 / 1,209', () => {
    const all = loadSpamAssassinEmails();
    const { train, test } = spamAssassinSplit(1);

    expect(all.length).toBe(6046);
    expect(all.filter((e) => e.label === 1).length).toBe(1896);
    expect([train.length, test.length]).toEqual([4837, 1209]);
  });

  it('builds the same vocabulary every time', () => {
    const a = spamAssassinVocabulary(1500, 1);
    const b = spamAssassinVocabulary(1500, 1);

    expect(a.length).toBe(1500);
    expect(new Set(a).size).toBe(1500);
    expect(b).toEqual(a);
  });

  it('a short training run of spam-bow beats the majority class on held-out emails by far', { timeout: 120_000 }, async () => {
    // Prepare
    await initNodeBackend('wasm');
    const vocabulary = spamAssassinVocabulary(1500, 1);
    const { train, test } = spamAssassinSplit(1);
    const initial = await createInitialModel('spam-bow', 1, { kind: 'text', inputShape: [1500], numClasses: 2, labels: ['ham', 'spam'], dataset: 'spam-assassin', vocabulary });
    const model = await modelFromTopology(initial.topology, initial.weights);
    const testSet = emailsToDataset(test, vocabulary);
    const majority = Math.max(...[0, 1].map((c) => testSet.y.filter((y) => y === c).length)) / testSet.count;

    // Execute
    await trainLocal(model, emailsToDataset(train, vocabulary), { localEpochs: 2, batchSize: 32, optimizer: 'adam', learningRate: 0.005, proxMu: 0, maxExamples: 0 }, { random: createSeededRandom(1) });
    const { accuracy } = await evaluateModel(model, testSet);
    model.dispose();

    // Assert
    console.log(`spam-bow: held-out accuracy ${accuracy.toFixed(4)}, majority class ${majority.toFixed(4)}`);
    expect(majority).toBeGreaterThan(0.6);
    expect(accuracy).toBeGreaterThan(0.93);
  });
});
