import * as tf from '@tensorflow/tfjs';
import { ChorusError } from '@chorus/core';
import type { DataSchema } from '@chorus/core';
import { checkNextWordVocabulary, MAX_NEXT_WORD_VOCABULARY, NEXT_WORD_CONTEXT } from '../data/next-word-tokens.js';
import type { ModelTemplate } from './model-template.js';

const EMBEDDING = 32;
const GRU_UNITS = 64;

/** The built-in dataset's shape; the vocabulary itself is built from the training addresses when a task is created. */
const NEXT_WORD_DATA: DataSchema = { kind: 'text', inputShape: [NEXT_WORD_CONTEXT], numClasses: MAX_NEXT_WORD_VOCABULARY, dataset: 'sotu' };

/**
 * Next-word prediction for the keyboard task (Hard et al. 2018, at browser size): the last words as
 * ids → embedding 32 → GRU 64 → softmax over the vocabulary; 43,456 parameters for 256 words.
 * Glorot rather than orthogonal recurrent weights: tfjs's orthogonal initializer is slow on every build.
 */
export const nextWordGru: ModelTemplate = {
  id: 'nextword-gru',
  description: `Keyboard next-word prediction: the last ${NEXT_WORD_CONTEXT} words → embedding ${EMBEDDING} → GRU ${GRU_UNITS} → the next word over a vocabulary of up to ${MAX_NEXT_WORD_VOCABULARY} (built from State of the Union addresses), 43,456 parameters.`,
  data: NEXT_WORD_DATA,
  // At the platform's lr 0.05 a round barely moves a softmax over 256 words. lr 0.5 with batches of
  // 20 is what the e2e test and the simulator train with (the bench goes to lr 1 with server
  // momentum); 300 examples a round keep a browser's round to seconds.
  training: { batchSize: 20, learningRate: 0.5, maxExamples: 300 },
  build: (data) => {
    const d = data ?? NEXT_WORD_DATA;
    if (d.inputShape.length !== 1) throw new ChorusError('INVALID_CONFIG', `nextword-gru: data.inputShape must be one number (context words), got [${d.inputShape.join(', ')}]`);
    return tf.sequential({
      name: 'nextword_gru',
      layers: [
        tf.layers.embedding({ name: 'embedding', inputDim: d.numClasses, outputDim: EMBEDDING, inputLength: d.inputShape[0]! }),
        tf.layers.gru({ name: 'gru', units: GRU_UNITS, recurrentInitializer: 'glorotUniform' }),
        tf.layers.dense({ name: 'output', units: d.numClasses, activation: 'softmax' }),
      ],
    });
  },
  checkData: (data) => {
    if (data.kind !== 'text') throw new ChorusError('INVALID_CONFIG', `nextword-gru: data.kind must be "text", got "${data.kind}"`);
    if (!data.vocabulary) throw new ChorusError('INVALID_CONFIG', 'nextword-gru: data.vocabulary is missing');
    checkNextWordVocabulary(data.vocabulary, 'nextword-gru: data.vocabulary');
    if (data.numClasses !== data.vocabulary.length) {
      throw new ChorusError('SHAPE_MISMATCH', `nextword-gru: data.numClasses ${data.numClasses} must equal the vocabulary size ${data.vocabulary.length}`);
    }
    const context = data.inputShape[0]!;
    if (data.inputShape.length !== 1 || !(context >= 1 && context <= 64)) {
      throw new ChorusError('SHAPE_MISMATCH', `nextword-gru: data.inputShape must be [context words] with 1 to 64 words, got [${data.inputShape.join(', ')}]`);
    }
  },
};
