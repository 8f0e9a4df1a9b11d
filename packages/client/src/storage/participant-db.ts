import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { TensorSpec } from '@chorus/core';

/** Where an example came from; the page shows counts per source. */
/**
 * Where an example came from: 'partner' examples were handed over by a partner site's page; 'typed'
 * ones are next words the person typed with "learn from what I type" ticked.
 */
export type ExampleSource = 'shard' | 'drawn' | 'imported' | 'partner' | 'typed';

export interface StoredExample {
  readonly id?: number;
  readonly taskId: string;
  /** One example's features, row-major, `product(inputShape)` floats. */
  readonly x: Float32Array;
  readonly y: number;
  readonly source: ExampleSource;
  readonly addedAt: number;
}

export interface StoredModel {
  readonly taskId: string;
  readonly version: number;
  readonly layout: readonly TensorSpec[];
  readonly values: Float32Array;
  readonly storedAt: number;
}

/**
 * A trained update the server has not acknowledged yet. After a reload the same round's invite is
 * answered from here (no retraining) while the round is still open.
 */
export interface PendingUpload {
  readonly taskId: string;
  readonly roundId: string;
  readonly round: number;
  readonly version: number;
  /** Epoch ms after which the server no longer takes the update. */
  readonly deadline: number;
  readonly numExamples: number;
  readonly metrics: Readonly<Record<string, number>>;
  /** Local minus global weights. */
  readonly delta: Float32Array;
  readonly createdAt: number;
}

export interface BackendMeasurement {
  readonly backend: string;
  /** Training examples per second; 0 when the backend failed. */
  readonly samplesPerSecond: number;
  readonly error?: string;
  /** wasm only: the threads it computed with (1 for the single-threaded build). */
  readonly threads?: number;
}

export interface BackendTrial {
  /** `${deviceKey}|${modelKey}`. */
  readonly key: string;
  readonly chosen: string;
  readonly measurements: readonly BackendMeasurement[];
  readonly measuredAt: number;
}

export interface Contribution {
  readonly id?: number;
  readonly taskId: string;
  readonly roundId: string;
  readonly round: number;
  /** Bytes of the encoded update sent (header included). */
  readonly bytes: number;
  readonly numExamples: number;
  readonly accepted: boolean;
  readonly at: number;
}

export interface ParticipantDbSchema extends DBSchema {
  examples: { key: number; value: StoredExample; indexes: { byTask: string } };
  models: { key: [string, number]; value: StoredModel; indexes: { byTask: string } };
  pendingUploads: { key: string; value: PendingUpload };
  backendTrials: { key: string; value: BackendTrial };
  contributions: { key: number; value: Contribution; indexes: { byTask: string } };
  /** Small named values: the pseudonymous id, server-issued participant ids, preferences. */
  meta: { key: string; value: unknown };
}

export type ParticipantDb = IDBPDatabase<ParticipantDbSchema>;

/** @default 'chorus-participant' */
export const DEFAULT_DB_NAME = 'chorus-participant';
const DB_VERSION = 1;

/** Opens (creating or upgrading) the participant database. The page and the trainer worker both open it. */
export function openParticipantDb(name: string = DEFAULT_DB_NAME): Promise<ParticipantDb> {
  return openDB<ParticipantDbSchema>(name, DB_VERSION, {
    upgrade(db) {
      const examples = db.createObjectStore('examples', { keyPath: 'id', autoIncrement: true });
      examples.createIndex('byTask', 'taskId');
      const models = db.createObjectStore('models', { keyPath: ['taskId', 'version'] });
      models.createIndex('byTask', 'taskId');
      db.createObjectStore('pendingUploads', { keyPath: 'taskId' });
      db.createObjectStore('backendTrials', { keyPath: 'key' });
      const contributions = db.createObjectStore('contributions', { keyPath: 'id', autoIncrement: true });
      contributions.createIndex('byTask', 'taskId');
      db.createObjectStore('meta');
    },
    // Another tab upgrading the schema must not be blocked by this one holding the old version open.
    blocking(_current, _next, event) {
      (event.target as IDBDatabase).close();
    },
  });
}
