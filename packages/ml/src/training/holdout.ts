/** Golden-ratio spread: example i is held out when frac(i·φ) < fraction — stable, deterministic, spread over the whole store. */
export function holdoutIndices(count: number, fraction: number): { train: Int32Array; holdout: Int32Array } {
  const train: number[] = [];
  const holdout: number[] = [];
  const phi = 0.6180339887498949;
  for (let i = 0; i < count; i++) ((i * phi) % 1 < fraction ? holdout : train).push(i);
  // Too few examples to spare any: train on all, score nothing.
  if (train.length === 0 || holdout.length === 0) return { train: Int32Array.from({ length: count }, (_, i) => i), holdout: new Int32Array(0) };
  return { train: Int32Array.from(train), holdout: Int32Array.from(holdout) };
}
