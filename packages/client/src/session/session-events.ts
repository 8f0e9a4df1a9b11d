import type { ChorusError, JoinResponse, ModelUpdated, RoundCancel, RoundInvite, TaskStatusMessage, UpdateReceipt } from '@chorus/core';

/** Where the session is; UIs show this as the participant's headline state. */
export type SessionStatus = 'idle' | 'connecting' | 'joined' | 'downloading' | 'training' | 'uploading' | 'disconnected' | 'closed';

export type RoundStep = 'download' | 'train' | 'upload';

export interface SessionProgressEvent {
  readonly roundId: string;
  readonly phase: RoundStep;
  /** 0…1 within the phase. */
  readonly fraction: number;
}

export interface ReceiptEvent {
  readonly roundId: string;
  readonly round: number;
  readonly receipt: UpdateReceipt;
  /** Encoded update size (header included). */
  readonly bytes: number;
  readonly numExamples: number;
  readonly metrics: Readonly<Record<string, number>>;
}

export interface RoundFailedEvent {
  readonly roundId: string;
  readonly round: number;
  readonly error: ChorusError;
}

/** Everything a UI or a simulator can listen to. Listeners are called synchronously, in order. */
export interface SessionEventMap {
  status: SessionStatus;
  joined: JoinResponse;
  progress: SessionProgressEvent;
  roundJoined: RoundInvite;
  receipt: ReceiptEvent;
  roundFailed: RoundFailedEvent;
  roundCancelled: RoundCancel;
  modelUpdated: ModelUpdated;
  taskStatus: TaskStatusMessage;
  error: ChorusError;
}

export type SessionListener<K extends keyof SessionEventMap> = (payload: SessionEventMap[K]) => void;

/** A tiny typed emitter: no DOM EventTarget, so the session runs in Node, workers and pages alike. */
export class SessionEmitter {
  private readonly listeners = new Map<keyof SessionEventMap, Set<(payload: never) => void>>();

  /** Returns a function that removes the listener. */
  on<K extends keyof SessionEventMap>(event: K, listener: SessionListener<K>): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as (payload: never) => void);
    return () => this.off(event, listener);
  }

  off<K extends keyof SessionEventMap>(event: K, listener: SessionListener<K>): void {
    this.listeners.get(event)?.delete(listener as (payload: never) => void);
  }

  emit<K extends keyof SessionEventMap>(event: K, payload: SessionEventMap[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      // A throwing UI listener must not break the protocol loop.
      try {
        (listener as SessionListener<K>)(payload);
      } catch (err) {
        if (event !== 'error') queueMicrotask(() => { throw err; });
      }
    }
  }

  removeAll(): void {
    this.listeners.clear();
  }
}
