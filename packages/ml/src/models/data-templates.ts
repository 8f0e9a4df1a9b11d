import * as tf from '@tensorflow/tfjs';
import { ChorusError } from '@chorus/core';
import type { DataSchema } from '@chorus/core';
import type { ModelTemplate } from './model-template.js';

/** The hidden layer width of the tabular MLP: enough for small tables (iris, wine), cheap to train. */
const TABULAR_HIDDEN = 16;
/** Vocabulary size the spam filter gets when the operator does not give a vocabulary. */
export const SPAM_VOCABULARY_SIZE = 1500;
const SPAM_HIDDEN = 32;

function requireShape(template: string, data: DataSchema | undefined, fallback: DataSchema): DataSchema {
  const d = data ?? fallback;
  if (d.inputShape.length !== 1) throw new ChorusError('INVALID_CONFIG', `${template}: data.inputShape must be one number (features), got [${d.inputShape.join(', ')}]`);
  return d;
}

/** Iris-shaped placeholder, so the console can show the template before a CSV is chosen. */
const TABULAR_DATA: DataSchema = { kind: 'tabular', inputShape: [4], numClasses: 3 };

export const tabularMlp: ModelTemplate = {
  id: 'tabular-mlp',
  description: `Multilayer perceptron for a CSV table: standardized numeric features → ${TABULAR_HIDDEN} relu → classes; the CSV you upload defines columns and labels.`,
  data: TABULAR_DATA,
  build: (data) => {
    const d = requireShape('tabular-mlp', data, TABULAR_DATA);
    return tf.sequential({
      name: 'tabular_mlp',
      layers: [
        tf.layers.dense({ name: 'hidden', inputShape: [d.inputShape[0]!], units: TABULAR_HIDDEN, activation: 'relu' }),
        tf.layers.dense({ name: 'output', units: d.numClasses, activation: 'softmax' }),
      ],
    });
  },
  checkData: (data) => {
    const f = data.features;
    if (data.kind !== 'tabular') throw new ChorusError('INVALID_CONFIG', `tabular-mlp: data.kind must be "tabular", got "${data.kind}"`);
    if (!f) throw new ChorusError('INVALID_CONFIG', 'tabular-mlp: data.features is missing (upload a CSV to define the columns and their scaling)');
    const n = data.inputShape[0];
    if (data.inputShape.length !== 1 || f.names.length !== n || f.mean.length !== n || f.std.length !== n) {
      throw new ChorusError('SHAPE_MISMATCH', `tabular-mlp: data.inputShape [${data.inputShape.join(', ')}] must be [${f.names.length}] like data.features (names ${f.names.length}, mean ${f.mean.length}, std ${f.std.length})`);
    }
    if (data.labels && data.labels.length !== data.numClasses) {
      throw new ChorusError('SHAPE_MISMATCH', `tabular-mlp: data.labels has ${data.labels.length} entries, data.numClasses is ${data.numClasses}`);
    }
  },
};

const SPAM_DATA: DataSchema = { kind: 'text', inputShape: [SPAM_VOCABULARY_SIZE], numClasses: 2, labels: ['ham', 'spam'], dataset: 'spam-assassin' };

export const spamBow: ModelTemplate = {
  id: 'spam-bow',
  description: `Spam filter: bag of words over a ${SPAM_VOCABULARY_SIZE}-token vocabulary (built from SpamAssassin emails) → ${SPAM_HIDDEN} relu → ham/spam.`,
  data: SPAM_DATA,
  build: (data) => {
    const d = requireShape('spam-bow', data, SPAM_DATA);
    return tf.sequential({
      name: 'spam_bow',
      layers: [
        tf.layers.dense({ name: 'hidden', inputShape: [d.inputShape[0]!], units: SPAM_HIDDEN, activation: 'relu' }),
        tf.layers.dense({ name: 'output', units: d.numClasses, activation: 'softmax' }),
      ],
    });
  },
  checkData: (data) => {
    if (data.kind !== 'text') throw new ChorusError('INVALID_CONFIG', `spam-bow: data.kind must be "text", got "${data.kind}"`);
    if (!data.vocabulary) throw new ChorusError('INVALID_CONFIG', 'spam-bow: data.vocabulary is missing');
    if (data.inputShape.length !== 1 || data.inputShape[0] !== data.vocabulary.length) {
      throw new ChorusError('SHAPE_MISMATCH', `spam-bow: data.inputShape [${data.inputShape.join(', ')}] must be [${data.vocabulary.length}], the vocabulary size`);
    }
  },
};
