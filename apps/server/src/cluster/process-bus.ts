import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ChorusError } from '@chorus/core';
import type { CoordinatorEvent, CoordinatorRequest, PartialSum } from '../rounds/coordination.js';
import { decodeFrame, encodeFrame } from './bus-frames.js';
import { announceSchema, askSchema, fromWireRequest, replySchema, tellSchema, toWirePartial, toWireRequest, type Announce, type AnnounceBody, type Reply } from './bus-messages.js';

/** What a process does with what the others say. */
export interface BusHandlers {
  /** A participant event for the task's coordinator (every process hears it; only the coordinator acts). */
  tell(taskId: string, event: CoordinatorEvent): void;
  /** A request addressed to this process; the answer (or the error thrown) goes back to `from`. */
  ask(from: string, taskId: string, request: CoordinatorRequest): Promise<unknown>;
  /**
   * An announcement of another process, handled one after another in the order they came; a
   * broadcast (delivered to this process's sockets in the turn it arrives) does not wait for them.
   */
  announce(a: Announce): Promise<void>;
}

interface Pending {
  /** Runs in the turn the answer arrives (the fold of an admitted upload must precede a later request). */
  onAnswer?(v: unknown): void;
  resolve(v: unknown): void;
  reject(e: ChorusError): void;
  timer: NodeJS.Timeout;
}

/**
 * Server processes talking over Redis pub/sub, every message checked by its schema
 * (bus-messages.ts): `tell`s on `<prefix>:bus:coord`, announcements on `<prefix>:bus:all`, and
 * requests on the addressee's own `<prefix>:bus:proc:<id>` with the answer on the asker's.
 */
export class ProcessBus {
  private readonly pending = new Map<string, Pending>();
  private readonly sub: Redis;
  private announcements: Promise<void> = Promise.resolve();

  constructor(
    private readonly redis: Redis,
    private readonly options: { readonly prefix: string; readonly processId: string; readonly logger: Logger; readonly askTimeoutMs?: number },
  ) {
    this.sub = redis.duplicate();
    // The main connection logs losing Redis; the subscriber reconnects (and resubscribes) by itself.
    this.sub.on('error', () => undefined);
  }

  private channel(which: 'coord' | 'all' | { proc: string }): string {
    return typeof which === 'string' ? `${this.options.prefix}:bus:${which}` : `${this.options.prefix}:bus:proc:${which.proc}`;
  }

  async connect(handlers: BusHandlers): Promise<void> {
    this.sub.on('messageBuffer', (channel: Buffer, raw: Buffer) => this.receive(handlers, channel.toString(), raw));
    await this.sub.subscribe(this.channel('coord'), this.channel('all'), this.channel({ proc: this.options.processId }));
  }

  tell(taskId: string, event: CoordinatorEvent): void {
    this.publish(this.channel('coord'), { t: 'tell', from: this.options.processId, taskId, event });
  }

  announce(a: AnnounceBody): void {
    this.publish(this.channel('all'), { ...a, from: this.options.processId });
  }

  /** Sends a request to process `to` and waits for its answer (UNAVAILABLE naming `who` after the timeout). */
  request(to: string, taskId: string, request: CoordinatorRequest, who: string, onAnswer?: (answer: unknown) => void, timeout?: number): Promise<unknown> {
    const id = randomUUID();
    // Encoded first: a message that cannot be (nested too deeply) fails here, with nothing left pending.
    const frame = encodeFrame({ t: 'ask', from: this.options.processId, id, taskId, request: toWireRequest(request) });
    const answer = new Promise<unknown>((resolve, reject) => {
      const timeoutMs = timeout ?? this.options.askTimeoutMs ?? 10_000;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ChorusError('UNAVAILABLE', `${who} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, ...(onAnswer ? { onAnswer } : {}) });
    });
    this.send(this.channel({ proc: to }), frame);
    return answer;
  }

  private publish(channel: string, message: unknown): void {
    let frame: Buffer;
    try {
      frame = encodeFrame(message);
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message, channel }, 'bus message could not be encoded: not sent');
      return;
    }
    this.send(channel, frame);
  }

  /** Binary frames (bus-frames.ts): an update or a partial sum travels as its bytes. */
  private send(channel: string, frame: Buffer): void {
    this.redis.publish(channel, frame).catch((err: unknown) => this.options.logger.warn({ err: (err as Error).message, channel }, 'bus publish failed'));
  }

  private receive(handlers: BusHandlers, channel: string, raw: Buffer): void {
    let data: unknown;
    try {
      data = decodeFrame(raw);
    } catch (err) {
      this.options.logger.warn({ channel, err: (err as Error).message }, 'bus message is not a frame: dropped');
      return;
    }
    if (channel === this.channel('coord')) {
      const m = tellSchema.safeParse(data);
      if (!m.success) return this.dropped(channel, m.error);
      try {
        handlers.tell(m.data.taskId, m.data.event);
      } catch (err) {
        this.options.logger.error({ err }, 'bus event failed');
      }
    } else if (channel === this.channel('all')) {
      const m = announceSchema.safeParse(data);
      if (!m.success) return this.dropped(channel, m.error);
      if (m.data.from === this.options.processId) return;
      const a = m.data;
      const failed = (err: unknown) => this.options.logger.warn({ err }, 'announcement failed');
      // A broadcast (or a relayed send) only writes to this process's sockets and depends on nothing
      // an earlier announcement changes, so it is delivered now, in the order they came. Queued, a new
      // version's model:updated waited behind the reload its commit's 'changed' starts (25–80 ms,
      // and 200–440 ms when the task completes), before a mirror began writing to its participants.
      if (a.t === 'broadcast' || a.t === 'deliver' || a.t === 'written') return void handlers.announce(a).catch(failed);
      this.announcements = this.announcements.then(() => handlers.announce(a)).catch(failed);
    } else {
      const reply = replySchema.safeParse(data);
      if (reply.success) return this.replied(reply.data);
      const ask = askSchema.safeParse(data);
      if (!ask.success) return this.dropped(channel, ask.error);
      void this.answer(handlers, ask.data.from, ask.data.id, ask.data.taskId, () => fromWireRequest(ask.data.request));
    }
  }

  private dropped(channel: string, error: unknown): void {
    this.options.logger.warn({ channel, error: String(error).slice(0, 500) }, 'bus message refused by its schema: dropped');
  }

  /** `decode` turns the wire request into the request (a malformed one is refused with its typed error). */
  private async answer(handlers: BusHandlers, to: string, id: string, taskId: string, decode: () => CoordinatorRequest): Promise<void> {
    let reply: Reply;
    try {
      const request = decode();
      const data = await handlers.ask(to, taskId, request);
      reply = { t: 'reply', id, ok: true, data: (request.kind === 'partial' ? toWirePartial(data as PartialSum) : data) as never };
    } catch (err) {
      reply = { t: 'reply', id, ok: false, error: ChorusError.from(err).toWire() };
    }
    this.publish(this.channel({ proc: to }), reply);
  }

  private replied(r: Reply): void {
    const p = this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id);
    clearTimeout(p.timer);
    if (!r.ok) return p.reject(ChorusError.fromWire(r.error));
    try {
      p.onAnswer?.(r.data);
    } catch (err) {
      return p.reject(ChorusError.from(err));
    }
    p.resolve(r.data);
  }

  /** Unanswered requests fail with UNAVAILABLE; the subscription ends. */
  close(): void {
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new ChorusError('UNAVAILABLE', 'the server is shutting down'));
    }
    this.pending.clear();
    this.sub.disconnect();
  }
}
