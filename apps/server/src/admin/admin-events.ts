import type { TaskStatus } from '@chorus/core';
import type { NewVersion, RoundClose, Storage, StoredReceipt, StoredRound } from '../storage/storage.js';

/** What the console and the metrics see happen, pushed as it is persisted. */
export type AdminEvent =
  | { readonly type: 'task:created'; readonly taskId: string }
  | { readonly type: 'task:status'; readonly taskId: string; readonly status: TaskStatus }
  | { readonly type: 'round:opened'; readonly taskId: string; readonly round: number; readonly roundId: string; readonly version: number; readonly selected: number; readonly startedAt: number }
  | (RoundClose & {
      readonly type: 'round:closed';
      readonly state: 'committed' | 'abandoned';
      /** The version the round produced (committed rounds). */
      readonly version: number | null;
      readonly startedAt: number | null;
      readonly reason: string | null;
    })
  | { readonly type: 'version:metrics'; readonly taskId: string; readonly version: number; readonly metrics: Readonly<Record<string, number>> }
  | { readonly type: 'receipt'; readonly taskId: string; readonly receipt: StoredReceipt }
  | { readonly type: 'participants'; readonly taskId: string; readonly connected: number; readonly byBackend: Readonly<Record<string, number>> };

export type AdminEventListener = (event: AdminEvent) => void;

/** A tiny synchronous fan-out; a throwing listener is isolated from the others and the engine. */
export class AdminEventBus {
  private readonly listeners = new Set<AdminEventListener>();

  on(listener: AdminEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: AdminEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // Observers must never break a round.
      }
    }
  }
}

/**
 * Wraps Storage so every persisted round fact also becomes an AdminEvent (after the write
 * succeeded). The round engine stays unaware of the console and of metrics.
 */
export function observeStorage(storage: Storage, bus: AdminEventBus): Storage {
  const opened = new Map<string, number>();
  const key = (taskId: string, round: number) => `${taskId}#${round}`;
  const closed = (close: RoundClose, state: 'committed' | 'abandoned', version: number | null, reason: string | null) => {
    const startedAt = opened.get(key(close.taskId, close.round)) ?? null;
    opened.delete(key(close.taskId, close.round));
    bus.emit({ ...close, type: 'round:closed', state, version, startedAt, reason });
  };
  const overrides: Partial<Storage> = {
    async createTask(task, initial) {
      await storage.createTask(task, initial);
      bus.emit({ type: 'task:created', taskId: task.id });
    },
    async setTaskStatus(id, status, at) {
      await storage.setTaskStatus(id, status, at);
      bus.emit({ type: 'task:status', taskId: id, status });
    },
    async openRound(round: Parameters<Storage['openRound']>[0]) {
      await storage.openRound(round);
      opened.set(key(round.taskId, round.round), round.startedAt);
      bus.emit({ type: 'round:opened', taskId: round.taskId, round: round.round, roundId: round.roundId, version: round.version, selected: round.selected, startedAt: round.startedAt });
    },
    async commitRound(close: RoundClose, version: NewVersion, fence?: number) {
      await storage.commitRound(close, version, fence);
      closed(close, 'committed', version.version, null);
    },
    async abandonRound(close: RoundClose, reason: string) {
      await storage.abandonRound(close, reason);
      closed(close, 'abandoned', null, reason);
    },
    async addVersionMetrics(taskId, version, metrics) {
      await storage.addVersionMetrics(taskId, version, metrics);
      bus.emit({ type: 'version:metrics', taskId, version, metrics });
    },
    async addReceipt(receipt: StoredReceipt) {
      await storage.addReceipt(receipt);
      bus.emit({ type: 'receipt', taskId: receipt.taskId, receipt });
    },
  };
  return new Proxy(storage, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && prop in overrides) return overrides[prop as keyof Storage];
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

export type { StoredRound };
