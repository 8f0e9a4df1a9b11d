import type { PersonalWeights } from '@chorus/core';

export interface PersonalizedTrainingResult {
  /** Trained minus downloaded values of the shared layers only (Ditto: the whole model): what is uploaded. */
  readonly delta: Float32Array;
  /** The device's personal layers after this round (Ditto: its whole personal model): what is kept. */
  readonly personal: PersonalWeights;
  readonly numExamples: number;
  /**
   * Training metrics, plus on the held-out examples (when there are any): `holdoutSharedAccuracy`
   * (the downloaded shared layers with the personal layers as they were; Ditto: the downloaded
   * model), `holdoutPersonalAccuracy`
   * (after this round's local training) and `personalGainPp` (their difference, in points).
   */
  readonly metrics: Record<string, number>;
}
