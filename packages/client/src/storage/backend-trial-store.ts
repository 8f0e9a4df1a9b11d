import type { BackendTrial, ParticipantDb } from './participant-db.js';

/** Measured backend choices per device and model, so the trial runs once, not every visit. */
export interface BackendTrialStore {
  get(deviceKey: string, modelKey: string): Promise<BackendTrial | undefined>;
  put(deviceKey: string, modelKey: string, trial: Omit<BackendTrial, 'key'>): Promise<void>;
}

export function backendTrialKey(deviceKey: string, modelKey: string): string {
  return `${deviceKey}|${modelKey}`;
}

export function createBackendTrialStore(db: ParticipantDb): BackendTrialStore {
  return {
    get: (deviceKey, modelKey) => db.get('backendTrials', backendTrialKey(deviceKey, modelKey)),
    async put(deviceKey, modelKey, trial) {
      await db.put('backendTrials', { ...trial, key: backendTrialKey(deviceKey, modelKey) });
    },
  };
}
