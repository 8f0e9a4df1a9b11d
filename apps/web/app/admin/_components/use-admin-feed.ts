'use client';

import { useEffect, useRef, useState } from 'react';
import { io } from 'socket.io-client';
import { useAdmin } from './admin-context.js';
import type { ClientFailure, Receipt } from './types.js';

/** What the server pushes on the /admin namespace (apps/server/src/admin/admin-events.ts). */
export type FeedEvent =
  | { type: 'task:created'; taskId: string }
  | { type: 'task:status'; taskId: string; status: string }
  | { type: 'round:opened'; taskId: string; round: number; roundId: string; version: number; selected: number; startedAt: number }
  | {
      type: 'round:closed';
      taskId: string;
      round: number;
      state: 'committed' | 'abandoned';
      version: number | null;
      startedAt: number | null;
      closedAt: number;
      participants: number;
      failures: ClientFailure[];
      bytesUp: number;
      bytesDown: number;
      metrics: Record<string, number>;
      reason: string | null;
      receipts: Receipt[];
    }
  | { type: 'version:metrics'; taskId: string; version: number; metrics: Record<string, number> }
  | { type: 'receipt'; taskId: string; receipt: Receipt }
  | { type: 'participants'; taskId: string; connected: number; byBackend: Record<string, number> };

const EVENTS: FeedEvent['type'][] = ['task:created', 'task:status', 'round:opened', 'round:closed', 'version:metrics', 'receipt', 'participants'];

export type FeedState = 'connecting' | 'live' | 'offline';

/**
 * The live admin feed (Socket.IO namespace /admin, authenticated by the session cookie). With a
 * task id it also subscribes to that task's participant counts. The latest handler is always used.
 */
export function useAdminFeed(taskId: string | null, onEvent: (e: FeedEvent) => void, onSubscribed?: (counts: { connected: number; byBackend: Record<string, number> }) => void): FeedState {
  const { serverUrl } = useAdmin();
  const [state, setState] = useState<FeedState>('connecting');
  const handler = useRef(onEvent);
  const subscribed = useRef(onSubscribed);
  handler.current = onEvent;
  subscribed.current = onSubscribed;

  useEffect(() => {
    // Websocket only: the handshake carries the cookie (same site), no credentialed polling needed.
    const socket = io(`${serverUrl}/admin`, { transports: ['websocket'], withCredentials: true });
    socket.on('connect', () => {
      setState('live');
      if (taskId) {
        socket.emit('subscribe', { taskId }, (ack: { ok: boolean; data?: { connected: number; byBackend: Record<string, number> } }) => {
          if (ack.ok && ack.data) subscribed.current?.(ack.data);
        });
      }
    });
    socket.on('disconnect', () => setState('offline'));
    socket.on('connect_error', () => setState('offline'));
    for (const type of EVENTS) {
      socket.on(type, (e: FeedEvent) => {
        if (taskId === null || e.taskId === taskId) handler.current(e);
      });
    }
    return () => {
      socket.close();
    };
  }, [serverUrl, taskId]);
  return state;
}
