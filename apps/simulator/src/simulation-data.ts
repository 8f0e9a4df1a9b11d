import { ChorusError, createSeededRandom, parsePartitionSpec, partitionIndices, subsetDataset, type Dataset } from '@chorus/core';
import { loadMnist, sotuHeldOutDataset, sotuSpeakerDataset, sotuSplit, sotuVocabulary } from '@chorus/ml/node';
import type { SimulationOptions } from './simulation-options.js';

/** Held-out windows the simulator scores a next-word version on when the server sent no metrics. */
const SOTU_TEST_EXAMPLES = 2_000;

export interface SimulationData {
  /** One dataset per simulated client, in client order. */
  readonly clients: Dataset[];
  /** The held-out set of the task's central evaluation. */
  readonly test: Dataset;
}

/**
 * The simulated clients' data. MNIST: the default split's training digits partitioned by the spec
 * (the server evaluates on that split's held-out digits). nextword-gru: State of the Union addresses
 * by president, client i = the i-th president in order of first address (at most 43), encoded with
 * the vocabulary the server ships with the task; held-out addresses for evaluation.
 */
export function loadSimulationData(o: Pick<SimulationOptions, 'model' | 'clients' | 'partition'>, partitionSeed: number): SimulationData {
  if (o.model === 'nextword-gru') {
    const { speakers } = sotuSplit();
    if (o.clients > speakers.length) {
      throw new ChorusError('INVALID_CONFIG', `clients: the by-president split has ${speakers.length} presidents, got ${o.clients} clients`);
    }
    const vocabulary = sotuVocabulary();
    return {
      clients: speakers.slice(0, o.clients).map((s) => sotuSpeakerDataset(s, vocabulary)),
      test: sotuHeldOutDataset(vocabulary, SOTU_TEST_EXAMPLES),
    };
  }
  const { train, test } = loadMnist();
  const parts = partitionIndices(train.y, o.clients, parsePartitionSpec(o.partition), createSeededRandom(partitionSeed));
  return { clients: parts.map((p) => subsetDataset(train, p)), test };
}
