import { describe, expect, it } from 'vitest';
import type { DataSchema } from '@chorus/core';
import { getModelTemplate } from './templates.js';
import { modelLayout } from './model-weights.js';

const VOCABULARY = ['<pad>', '<unk>', 'the', 'of', 'state'];
const DATA: DataSchema = { kind: 'text', inputShape: [8], numClasses: 5, vocabulary: VOCABULARY, dataset: 'sotu' };

describe('nextword-gru', () => {
  it('has 43,456 parameters for 256 words and 8 words of context, with stable weight names', () => {
    const template = getModelTemplate('nextword-gru');
    const model = template.build();

    expect(model.countParams()).toBe(43_456);
    expect(model.inputs[0]!.shape).toEqual([null, 8]);
    expect(model.outputs[0]!.shape).toEqual([null, 256]);
    expect(modelLayout(model).map((s) => s.name)).toEqual([
      'embedding/embeddings', 'gru/kernel', 'gru/recurrent_kernel', 'gru/bias', 'output/kernel', 'output/bias',
    ]);
    model.dispose();
  });

  it('sizes input and output from the task vocabulary', () => {
    const model = getModelTemplate('nextword-gru').build(DATA);

    expect(model.outputs[0]!.shape).toEqual([null, 5]);
    expect(model.countParams()).toBe(5 * 32 + 3 * (32 * 64 + 64 * 64 + 64) + 64 * 5 + 5);
    model.dispose();
  });

  it('accepts a next-word schema and names what is wrong with a bad one', () => {
    const check = getModelTemplate('nextword-gru').checkData!;

    expect(() => check(DATA)).not.toThrow();
    expect(() => check({ ...DATA, kind: 'image' })).toThrow('nextword-gru: data.kind must be "text", got "image"');
    expect(() => check({ ...DATA, vocabulary: undefined })).toThrow('nextword-gru: data.vocabulary is missing');
    expect(() => check({ ...DATA, vocabulary: ['the', 'of', 'state'], numClasses: 3 })).toThrow(/must start with "<pad>", "<unk>"/);
    expect(() => check({ ...DATA, numClasses: 6 })).toThrow('nextword-gru: data.numClasses 6 must equal the vocabulary size 5');
    expect(() => check({ ...DATA, inputShape: [8, 2] })).toThrow(/inputShape must be \[context words\]/);
  });
});
