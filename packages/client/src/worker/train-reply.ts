import { transfer } from 'comlink';
import type { PersonalWeights } from '@chorus/core';
import { privateUpdate } from '../session/private-update.js';
import type { KeepingSecureComputation } from '../session/secure-computation.js';
import type { BackendId, WorkerTrainRequest, WorkerTrainResult } from './trainer-protocol.js';

/** What one local training in the worker produced (trainLocal, or trainPersonalized with its personal layers). */
export interface WorkerTrained {
  readonly delta: Float32Array;
  readonly numExamples: number;
  readonly metrics: Readonly<Record<string, number>>;
  readonly personal?: PersonalWeights;
}

/**
 * The worker's answer to a train request. A secure round's update stays in the worker (after the
 * task's local DP), so only its masked form ever leaves; the personal layers of a personalized task
 * go back to the page either way, because the page's store is where they are kept between rounds.
 */
export function trainReply(
  request: Pick<WorkerTrainRequest, 'roundId' | 'keep'>,
  trained: WorkerTrained,
  ran: { readonly backend: BackendId; readonly samplesPerSecond: number },
  secure: Pick<KeepingSecureComputation, 'keep'>,
): WorkerTrainResult {
  const personal = trained.personal ? { personal: trained.personal } : {};
  const common = { numExamples: trained.numExamples, metrics: { ...trained.metrics }, samplesPerSecond: ran.samplesPerSecond, backend: ran.backend, ...personal };
  if (request.keep) {
    secure.keep(request.roundId, privateUpdate(trained.delta, request.keep.localDp));
    return { delta: new Float32Array(0), kept: true, ...common };
  }
  return transfer({ delta: trained.delta, ...common }, [trained.delta.buffer]);
}
