import { io } from 'socket.io-client';
import { ChorusError, type Ack, type ClientToServerEvents } from '@chorus/core';
import { chorusSocketParser } from './socket-parser.js';

/**
 * The slice of a Socket.IO client socket the session uses. socket.io-client's `Socket` fits it;
 * tests pass a fake. `connect` fires on the first connection and again after every reconnection.
 */
export interface SessionSocket {
  readonly connected: boolean;
  on(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener?: (...args: any[]) => void): unknown;
  emit(event: string, ...args: any[]): unknown;
  connect(): unknown;
  disconnect(): unknown;
}

export type SocketFactory = (serverUrl: string) => SessionSocket;

/** WebSocket only (no long-polling upgrade dance), reconnecting with capped exponential backoff. */
export const defaultSocketFactory: SocketFactory = (serverUrl) =>
  io(serverUrl, {
    transports: ['websocket'],
    autoConnect: false,
    reconnection: true,
    reconnectionDelay: 500,
    reconnectionDelayMax: 10_000,
    randomizationFactor: 0.5,
    // More binary attachments than socket.io-parser's default 10: a secure round's keys carry 2 per neighbour.
    parser: chorusSocketParser,
  });

type AckData<E extends keyof ClientToServerEvents> = Parameters<ClientToServerEvents[E]>[1] extends (ack: Ack<infer T>) => void ? T : never;

/**
 * Emits a client → server event and waits for its acknowledgement. A `{ ok: false }` ack becomes the
 * server's ChorusError; no ack within `timeoutMs` becomes TIMEOUT (retryable); a socket that is not
 * connected fails at once with UNAVAILABLE rather than letting Socket.IO buffer the message.
 */
export function request<E extends keyof ClientToServerEvents>(
  socket: SessionSocket,
  event: E,
  payload: Parameters<ClientToServerEvents[E]>[0],
  timeoutMs: number,
): Promise<AckData<E>> {
  return new Promise((resolve, reject) => {
    if (!socket.connected) {
      reject(new ChorusError('UNAVAILABLE', `cannot send "${event}": not connected to the server`));
      return;
    }
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      reject(new ChorusError('TIMEOUT', `the server did not acknowledge "${event}" within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.emit(event, payload, (ack: Ack<AckData<E>>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (ack && ack.ok === true) resolve(ack.data);
      else if (ack && ack.ok === false && ack.error) reject(ChorusError.fromWire(ack.error));
      else reject(new ChorusError('INTERNAL', `malformed acknowledgement for "${event}"`));
    });
  });
}
