/** Labelled examples in one flat buffer: `x` holds `count × product(inputShape)` floats. */
export interface Dataset {
  readonly x: Float32Array;
  /** Class index per example. */
  readonly y: Uint8Array;
  readonly count: number;
  readonly inputShape: readonly number[];
  readonly numClasses: number;
}
