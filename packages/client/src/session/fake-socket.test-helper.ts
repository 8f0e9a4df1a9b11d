import type { Ack } from '@chorus/core';
import type { SessionSocket } from './session-socket.js';

type Responder = (event: string, payload: any) => Ack<unknown> | undefined;

/**
 * An in-memory stand-in for a Socket.IO client socket: the test plays the server by answering
 * acknowledgements (`respond`) and pushing events (`fire`). Everything the client sends is recorded.
 */
export class FakeSocket implements SessionSocket {
  connected = false;
  readonly sent: { event: string; payload: any }[] = [];
  private readonly listeners = new Map<string, Set<(...args: any[]) => void>>();

  constructor(public respond: Responder) {}

  on(event: string, listener: (...args: any[]) => void): this {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event)!.add(listener);
    return this;
  }

  off(event: string, listener?: (...args: any[]) => void): this {
    if (listener) this.listeners.get(event)?.delete(listener);
    else this.listeners.delete(event);
    return this;
  }

  emit(event: string, payload: any, ack?: (a: Ack<unknown>) => void): this {
    this.sent.push({ event, payload });
    const answer = this.respond(event, payload);
    if (answer && ack) setTimeout(() => ack(answer), 0);
    return this;
  }

  connect(): this {
    this.connected = true;
    setTimeout(() => this.fire('connect'), 0);
    return this;
  }

  disconnect(): this {
    if (this.connected) {
      this.connected = false;
      this.fire('disconnect', 'io client disconnect');
    }
    return this;
  }

  /** The network drops, then Socket.IO reconnects by itself. */
  reconnect(): void {
    this.connected = false;
    this.fire('disconnect', 'transport close');
    this.connect();
  }

  fire(event: string, ...args: unknown[]): void {
    for (const l of [...(this.listeners.get(event) ?? [])]) l(...args);
  }

  eventsNamed(event: string): any[] {
    return this.sent.filter((s) => s.event === event).map((s) => s.payload);
  }

  listenerCount(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }
}
