import { ChorusError, tensorSize, type Dataset } from '@chorus/core';
import type { ExampleSource, ParticipantDb, StoredExample } from './participant-db.js';

export interface NewExample {
  readonly x: Float32Array;
  readonly y: number;
}

export interface ExampleCounts {
  readonly total: number;
  readonly bySource: Readonly<Record<ExampleSource, number>>;
  /** Examples per class index. */
  readonly byLabel: readonly number[];
}

/** Labelled examples kept on this device, per task. Nothing here is ever sent to the server. */
export interface ExampleStore {
  add(taskId: string, examples: readonly NewExample[], source: ExampleSource): Promise<number>;
  count(taskId: string, numClasses?: number): Promise<ExampleCounts>;
  /** All of a task's examples as one flat dataset, in insertion order. */
  load(taskId: string, inputShape: readonly number[], numClasses: number): Promise<Dataset>;
  deleteAll(taskId: string): Promise<void>;
}

export function createExampleStore(db: ParticipantDb): ExampleStore {
  return {
    async add(taskId, examples, source) {
      const tx = db.transaction('examples', 'readwrite');
      const addedAt = Date.now();
      for (const e of examples) {
        if (!Number.isInteger(e.y) || e.y < 0) throw new ChorusError('BAD_REQUEST', `example label must be a class index ≥ 0, got ${e.y}`);
        void tx.store.add({ taskId, x: e.x, y: e.y, source, addedAt } as StoredExample);
      }
      await tx.done;
      return examples.length;
    },

    async count(taskId, numClasses = 0) {
      const bySource: Record<ExampleSource, number> = { shard: 0, drawn: 0, imported: 0, partner: 0, typed: 0 };
      const byLabel = new Array<number>(numClasses).fill(0);
      let total = 0;
      let cursor = await db.transaction('examples').store.index('byTask').openCursor(taskId);
      while (cursor) {
        const e = cursor.value;
        total++;
        bySource[e.source]++;
        while (byLabel.length <= e.y) byLabel.push(0);
        byLabel[e.y]!++;
        cursor = await cursor.continue();
      }
      return { total, bySource, byLabel };
    },

    async load(taskId, inputShape, numClasses) {
      const rows = await db.getAllFromIndex('examples', 'byTask', taskId);
      const size = tensorSize(inputShape);
      const x = new Float32Array(rows.length * size);
      const y = new Uint8Array(rows.length);
      rows.forEach((row, i) => {
        if (row.x.length !== size) {
          throw new ChorusError('SHAPE_MISMATCH', `stored example #${row.id} of task "${taskId}" has ${row.x.length} values; the task expects [${inputShape.join(', ')}] (${size})`);
        }
        if (row.y >= numClasses) throw new ChorusError('BAD_REQUEST', `stored example #${row.id} has label ${row.y}; the task has ${numClasses} classes`);
        x.set(row.x, i * size);
        y[i] = row.y;
      });
      return { x, y, count: rows.length, inputShape: [...inputShape], numClasses };
    },

    async deleteAll(taskId) {
      const tx = db.transaction('examples', 'readwrite');
      let cursor = await tx.store.index('byTask').openKeyCursor(taskId);
      while (cursor) {
        void tx.store.delete(cursor.primaryKey);
        cursor = await cursor.continue();
      }
      await tx.done;
    },
  };
}
