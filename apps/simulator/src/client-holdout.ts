import type * as tf from '@tensorflow/tfjs';
import { decodePayload, mergeTensors, personalWeightsForPrediction, type Dataset, type PersonalizationInfo, type SerialQueue } from '@chorus/core';
import type { PersonalLayerStore } from '@chorus/client';
import { downloadVersion } from './version-download.js';
import { evaluateModel, modelLayout, writeModelWeights } from '@chorus/ml';

export interface ClientHoldoutInput {
  readonly serverUrl: string;
  readonly taskId: string;
  readonly version: number;
  readonly model: tf.LayersModel;
  readonly queue: SerialQueue;
  /** Each client's held-out examples and the store of its personal layers. */
  readonly clients: readonly { readonly data: Dataset; readonly store: PersonalLayerStore }[];
  /** Set for a personalized task: each client is scored with the shared layers plus its own personal ones. */
  readonly personalization: PersonalizationInfo | undefined;
}

/**
 * Mean over clients of each one's accuracy on its own held-out examples, with the model it would
 * use now: the downloaded global model, or (personalized) the shared layers with its personal
 * layers — the initial ones every trainer starts from, when it has not trained yet — or (Ditto)
 * its whole personal model.
 */
export async function clientHoldoutAccuracy(input: ClientHoldoutInput): Promise<number> {
  const { model, queue } = input;
  if (input.clients.length === 0) return 0;
  const bytes = await downloadVersion(input.serverUrl, input.taskId, input.version);
  const global = decodePayload(bytes);
  const layout = modelLayout(model);
  const p = input.personalization;
  return queue.run(async () => {
    let sum = 0;
    for (const client of input.clients) {
      // Before its first round a client has only the seeded head (FedPer, FedRep) or the global model (Ditto).
      const mine = p ? personalWeightsForPrediction(layout, p, await client.store.get(input.taskId)) : undefined;
      writeModelWeights(model, mine ? mergeTensors(layout, [global, mine]) : global.values);
      sum += (await evaluateModel(model, client.data)).accuracy;
    }
    return sum / input.clients.length;
  });
}
