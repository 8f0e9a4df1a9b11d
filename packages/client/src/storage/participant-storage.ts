import { createBackendTrialStore, type BackendTrialStore } from './backend-trial-store.js';
import { createContributionLog, type ContributionLog } from './contribution-log.js';
import { createExampleStore, type ExampleStore } from './example-store.js';
import { createIndexedDbModelCache, type IndexedDbModelCache } from './model-store.js';
import { DEFAULT_DB_NAME, openParticipantDb, type ParticipantDb } from './participant-db.js';
import { createParticipantIdentity, type ParticipantIdentity } from './participant-identity.js';
import { createPendingUploadStore, type PendingUploadStore } from './pending-upload-store.js';
import { createIndexedDbResidualStore } from './residual-store.js';
import type { ResidualStore } from '../session/residual-store.js';
import { createIndexedDbPersonalLayerStore } from './personal-layer-idb-store.js';
import type { PersonalLayerStore } from '../session/personal-layer-store.js';

/** Every store of the participant database, opened once. */
export interface ParticipantStorage {
  readonly db: ParticipantDb;
  readonly examples: ExampleStore;
  readonly models: IndexedDbModelCache;
  readonly pendingUploads: PendingUploadStore;
  readonly backendTrials: BackendTrialStore;
  readonly contributions: ContributionLog;
  /** Error-feedback residuals of biased codecs (top-k), per task. */
  readonly residuals: ResidualStore;
  readonly identity: ParticipantIdentity;
  /** Personalized tasks' personal layers (never uploaded). */
  readonly personalLayers: PersonalLayerStore;
  /** "Delete my data": empties every store on this device, ids and personal layers included. */
  deleteEverything(): Promise<void>;
  close(): void;
}

export async function openParticipantStorage(name: string = DEFAULT_DB_NAME): Promise<ParticipantStorage> {
  const db = await openParticipantDb(name);
  return {
    db,
    examples: createExampleStore(db),
    models: createIndexedDbModelCache(db),
    pendingUploads: createPendingUploadStore(db),
    backendTrials: createBackendTrialStore(db),
    contributions: createContributionLog(db),
    residuals: createIndexedDbResidualStore(db),
    identity: createParticipantIdentity(db),
    personalLayers: createIndexedDbPersonalLayerStore(db),
    async deleteEverything() {
      const names = ['examples', 'models', 'pendingUploads', 'backendTrials', 'contributions', 'meta'] as const;
      const tx = db.transaction([...names], 'readwrite');
      await Promise.all([...names.map((n) => tx.objectStore(n).clear()), tx.done]);
    },
    close: () => db.close(),
  };
}
