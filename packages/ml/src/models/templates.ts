import * as tf from '@tensorflow/tfjs';
import { ChorusError, createRegistry, type DataSchema, type Registry } from '@chorus/core';
import { spamBow, tabularMlp } from './data-templates.js';
import type { ModelTemplate } from './model-template.js';
import { nextWordGru } from './next-word-template.js';

export type { ModelTemplate } from './model-template.js';

const MNIST_DATA: DataSchema = {
  kind: 'image',
  inputShape: [28, 28, 1],
  numClasses: 10,
  labels: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  dataset: 'mnist',
};

/** FedAvg paper (McMahan et al. 2017) "2NN": two hidden layers of 200 relu units, 199,210 params. */
const mnist2nn: ModelTemplate = {
  id: 'mnist-2nn',
  description: 'MNIST multilayer perceptron from the FedAvg paper: 784 → 200 → 200 → 10 (relu), 199,210 parameters.',
  data: MNIST_DATA,
  build: () =>
    tf.sequential({
      name: 'mnist_2nn',
      layers: [
        tf.layers.flatten({ name: 'flatten', inputShape: [28, 28, 1] }),
        tf.layers.dense({ name: 'dense1', units: 200, activation: 'relu' }),
        tf.layers.dense({ name: 'dense2', units: 200, activation: 'relu' }),
        tf.layers.dense({ name: 'output', units: 10, activation: 'softmax' }),
      ],
    }),
};

/** FedAvg paper CNN: 5×5×32 → pool → 5×5×64 → pool → 512 → 10, "same" padding, 1,663,370 params. */
const mnistCnn: ModelTemplate = {
  id: 'mnist-cnn',
  description:
    'MNIST convolutional network from the FedAvg paper: conv 5×5×32 → max-pool 2 → conv 5×5×64 → max-pool 2 → dense 512 → 10, 1,663,370 parameters.',
  data: MNIST_DATA,
  build: () =>
    tf.sequential({
      name: 'mnist_cnn',
      layers: [
        tf.layers.conv2d({ name: 'conv1', inputShape: [28, 28, 1], filters: 32, kernelSize: 5, padding: 'same', activation: 'relu' }),
        tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2, strides: 2 }),
        tf.layers.conv2d({ name: 'conv2', filters: 64, kernelSize: 5, padding: 'same', activation: 'relu' }),
        tf.layers.maxPooling2d({ name: 'pool2', poolSize: 2, strides: 2 }),
        tf.layers.flatten({ name: 'flatten' }),
        tf.layers.dense({ name: 'dense1', units: 512, activation: 'relu' }),
        tf.layers.dense({ name: 'output', units: 10, activation: 'softmax' }),
      ],
    }),
};

/** Model templates by id, starting with the built-ins; a deployment may register its own. */
export const modelTemplateRegistry: Registry<ModelTemplate> = createRegistry({
  kind: 'model template',
  idOf: (t) => t.id,
  initial: [mnist2nn, mnistCnn, tabularMlp, spamBow, nextWordGru],
});

export function registerModelTemplate(template: ModelTemplate): void {
  modelTemplateRegistry.register(template);
}

export function unregisterModelTemplate(id: string): boolean {
  return modelTemplateRegistry.unregister(id);
}

export function listModelTemplates(): ModelTemplate[] {
  return modelTemplateRegistry.list();
}

/** Throws NOT_FOUND naming the id and the known ones (INVALID_CONFIG when the id is not a non-empty string). */
export function getModelTemplate(id: string): ModelTemplate {
  const known = listModelTemplates().map((t) => t.id).join(', ');
  if (typeof id !== 'string' || id.length === 0) {
    throw new ChorusError('INVALID_CONFIG', `model template id must be a non-empty string; known templates: ${known}`);
  }
  const template = modelTemplateRegistry.get(id);
  if (!template) throw new ChorusError('NOT_FOUND', `unknown model template "${id}"; known templates: ${known}`);
  return template;
}
