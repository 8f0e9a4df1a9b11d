import { downloadBytes, weightsUrl, withRetry } from '@chorus/client';

/**
 * A committed version's bytes, for the simulator's own scoring (not a simulated device's download):
 * retried like a participant's, so a connection the busy server closes mid-body does not end a run.
 */
export function downloadVersion(serverUrl: string, taskId: string, version: number): Promise<Uint8Array> {
  return withRetry(() => downloadBytes(weightsUrl(serverUrl, taskId, version), { fetch: (u, init) => fetch(u, init) }));
}
