import { describe, expect, it } from 'vitest';
import { ChorusError } from '@chorus/core';
import { getModelTemplate, listModelTemplates, registerModelTemplate, unregisterModelTemplate } from './templates.js';
import { modelLayout } from './model-weights.js';

function errorOf(fn: () => unknown): ChorusError {
  try {
    fn();
  } catch (e) {
    return e as ChorusError;
  }
  throw new Error('expected a throw');
}

describe('model templates', () => {
  it('lists the two FedAvg-paper MNIST models, the tabular MLP, the spam filter and the keyboard model', () => {
    expect(listModelTemplates().map((t) => t.id)).toEqual(['mnist-2nn', 'mnist-cnn', 'tabular-mlp', 'spam-bow', 'nextword-gru']);
  });

  it('takes a registered template by id, refuses a taken id, and forgets an unregistered one', () => {
    const mine = { ...getModelTemplate('mnist-2nn'), id: 'my-2nn' };
    registerModelTemplate(mine);
    expect(getModelTemplate('my-2nn')).toBe(mine);
    expect(errorOf(() => registerModelTemplate(mine)).message).toBe('model template "my-2nn" is already registered');
    expect(unregisterModelTemplate('my-2nn')).toBe(true);
    expect(errorOf(() => getModelTemplate('my-2nn')).code).toBe('NOT_FOUND');
  });

  it.each([
    ['mnist-2nn', 199_210],
    ['mnist-cnn', 1_663_370],
  ])('%s has the paper\'s %i parameters and takes 28×28×1 images', (id, params) => {
    const template = getModelTemplate(id);
    const model = template.build();

    expect(model.countParams()).toBe(params);
    expect(model.inputs[0]!.shape).toEqual([null, 28, 28, 1]);
    expect(model.outputs[0]!.shape).toEqual([null, 10]);
    expect(template.data).toMatchObject({ kind: 'image', inputShape: [28, 28, 1], numClasses: 10 });
    model.dispose();
  });

  it('gives the same weight names every time a template is built in one process', () => {
    const first = getModelTemplate('mnist-cnn').build();
    const second = getModelTemplate('mnist-cnn').build();

    expect(modelLayout(second)).toEqual(modelLayout(first));
    expect(modelLayout(first).map((s) => s.name)).toEqual([
      'conv1/kernel', 'conv1/bias', 'conv2/kernel', 'conv2/bias', 'dense1/kernel', 'dense1/bias', 'output/kernel', 'output/bias',
    ]);
    first.dispose();
    second.dispose();
  });

  it('rejects an unknown id with NOT_FOUND naming it and the known ones', () => {
    const err = errorOf(() => getModelTemplate('resnet-50'));

    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toContain('"resnet-50"');
    expect(err.message).toContain('mnist-2nn, mnist-cnn');
  });

  it('rejects an empty id with INVALID_CONFIG', () => {
    expect(errorOf(() => getModelTemplate('')).code).toBe('INVALID_CONFIG');
  });
});
