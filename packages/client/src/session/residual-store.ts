/**
 * Error feedback for biased codecs (top-k): what an update did not carry is kept per task and added
 * to the next update. The browser keeps it in IndexedDB (it survives a reload); the default keeps it
 * in memory, which for the simulator is each simulated client's own state.
 */
export interface ResidualStore {
  get(taskId: string): Promise<Float32Array | undefined>;
  put(taskId: string, residual: Float32Array): Promise<void>;
}

export function createMemoryResidualStore(): ResidualStore {
  const residuals = new Map<string, Float32Array>();
  return {
    async get(taskId) {
      return residuals.get(taskId);
    },
    async put(taskId, residual) {
      residuals.set(taskId, residual);
    },
  };
}
