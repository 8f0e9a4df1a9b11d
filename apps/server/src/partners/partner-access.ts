import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Server } from 'socket.io';
import { ChorusError, type StorageFallback } from '@chorus/core';
import { checkAccess, refusedOrigin, utcDay, type AccessRefusal, type AccessVerdict } from './partner-key.js';
import type { PartnerKeyStore } from './partner-key-store.js';

export interface PartnerAccessOptions {
  readonly keys: PartnerKeyStore;
  /** What the embed frame needs to know about a task, or null when there is no such task. */
  readonly taskFacts: (taskId: string) => EmbedTaskFacts | null;
  /** Browser origins the Chorus web app is served from (the iframe's origin): the server's CORS list. */
  readonly chorusOrigins: (origin: string | undefined) => boolean;
  readonly logger: Logger;
  /** @default Date.now */
  readonly now?: () => number;
}

/** What the embed iframe puts in its Socket.IO handshake (`auth`). */
export interface PartnerHandshake {
  readonly partnerKey: string;
  readonly partnerOrigin: string;
  readonly taskId: string;
  /** The visitor's pseudonymous local id, for the distinct-visitors-per-day quota. */
  readonly visitor: string;
}

/** Sent with an allowed verdict: enough for the frame's status line and to validate partner examples. */
export interface EmbedTaskFacts {
  readonly name: string;
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  /** Built-in demo dataset visitors' browsers may load ("mnist"), or null. */
  readonly dataset: string | null;
}

export type EmbedCheckAnswer =
  | (AccessVerdict & { readonly allowed: false })
  | { readonly allowed: true; readonly task: EmbedTaskFacts; readonly storageFallback: StorageFallback };

const str = (v: unknown, max = 300): string | null => (typeof v === 'string' && v.length > 0 && v.length <= max ? v : null);

/** Key + task + embedding origin, as the iframe page asks before starting anything. */
export async function verdictFor(options: PartnerAccessOptions, key: string, taskId: string, origin: string): Promise<EmbedCheckAnswer> {
  const task = options.taskFacts(taskId);
  if (!task) return { allowed: false, code: 'NOT_FOUND', reason: `There is no Chorus task "${taskId}".` };
  const partnerKey = await options.keys.get(key);
  const verdict = checkAccess(partnerKey, taskId, origin);
  return verdict.allowed ? { allowed: true, task, storageFallback: partnerKey!.storageFallback } : verdict;
}

/**
 * GET /api/embed/check?key=&task=&origin= → `{ allowed: true, task: { name, inputShape, numClasses, dataset }, storageFallback }` or `{ allowed: false, code, reason }`
 * (HTTP 200 either way: a refusal is an answer, shown to the visitor in plain words).
 */
export function registerEmbedCheckRoute(app: FastifyInstance, options: PartnerAccessOptions): void {
  app.get<{ Querystring: Record<string, string | undefined> }>('/api/embed/check', async (req) => {
    const key = str(req.query.key, 104);
    const task = str(req.query.task, 100);
    const origin = str(req.query.origin);
    if (!key || !task || !origin) {
      return { allowed: false, code: 'BAD_REQUEST', reason: 'key, task and origin are required query parameters.' } satisfies AccessVerdict;
    }
    return verdictFor(options, key, task, origin);
  });
}

/**
 * Socket.IO handshake rules: a browser connection must come from a listed Chorus origin, and a
 * connection that names a partner key must carry an embedding origin allowed for that key and task,
 * within the key's daily visitor quota. Such a socket may then only join that one task.
 */
export function installPartnerHandshake(io: Server, options: PartnerAccessOptions): void {
  const now = options.now ?? Date.now;
  io.use((socket, next) => {
    // Socket.IO middleware is callback-style: a storage failure refuses the connection instead of escaping.
    admitPartnerSocket(socket, next).catch((err: unknown) => {
      options.logger.error({ err }, 'partner handshake failed');
      next(Object.assign(new Error('The server could not check this partner key; try again.'), { data: new ChorusError('INTERNAL', 'partner key check failed').toWire() }));
    });
  });
  async function admitPartnerSocket(socket: Parameters<Parameters<Server['use']>[0]>[0], next: (err?: Error) => void): Promise<void> {
    const refuse = (v: AccessRefusal): void => {
      options.logger.info({ code: v.code, reason: v.reason, origin: socket.handshake.headers.origin }, 'socket refused');
      next(Object.assign(new Error(v.reason), { data: new ChorusError(v.code, v.reason).toWire() }));
    };
    const browserOrigin = socket.handshake.headers.origin;
    if (browserOrigin !== undefined && !options.chorusOrigins(browserOrigin)) return refuse(refusedOrigin(browserOrigin));
    const auth = (socket.handshake.auth ?? {}) as Record<string, unknown>;
    if (auth.partnerKey === undefined) return next();
    const [key, origin, taskId, visitor] = [str(auth.partnerKey, 104), str(auth.partnerOrigin), str(auth.taskId, 100), str(auth.visitor, 200)];
    if (!key || !origin || !taskId || !visitor) return refuse({ allowed: false, code: 'BAD_REQUEST', reason: 'partnerKey, partnerOrigin, taskId and visitor are required together.' });
    const verdict = await verdictFor(options, key, taskId, origin);
    if (!verdict.allowed) return refuse(verdict);
    const record = (await options.keys.get(key))!;
    if (!(await options.keys.admitVisitor(record, utcDay(now()), visitor))) {
      return refuse({ allowed: false, code: 'RATE_LIMITED', reason: `This site has reached today's limit of ${record.quotaPerDay} contributors for Chorus. Thank you — please come back tomorrow.` });
    }
    socket.use((packet, nextPacket) => {
      const [event, payload] = packet;
      const joinTask = event === 'join' && typeof payload === 'object' && payload !== null ? (payload as { taskId?: unknown }).taskId : taskId;
      if (joinTask !== taskId) {
        socket.disconnect(true);
        return;
      }
      recordUsageOnAck(packet, (reply) => {
        const counted =
          event === 'join' && typeof reply.data?.participantId === 'string'
            ? options.keys.recordParticipant(record.id, taskId, reply.data.participantId, utcDay(now()))
            : (event === 'update:end' && reply.data?.accepted === true) || (event === 'update:chunk' && reply.data?.receipt?.accepted === true)
              ? options.keys.recordAcceptedUpdate(record.id, utcDay(now()))
              : null;
        // Usage is bookkeeping: a failure to count must not fail the participant's request.
        counted?.catch((err: unknown) => options.logger.warn({ err, event, key: record.id }, 'partner usage not recorded'));
      });
      nextPacket();
    });
    next();
  }
}

type OkReply = { ok?: boolean; data?: { participantId?: unknown; accepted?: unknown; receipt?: { accepted?: unknown } } };

/**
 * The socket handlers answer through the packet's ack callback (its last argument): wrapping it
 * lets the partner layer see which participant joined and which update was accepted, after the
 * fact and without the round engine knowing about partner keys.
 */
function recordUsageOnAck(packet: unknown[], onOk: (reply: OkReply) => void): void {
  const last = packet.length - 1;
  const ack = packet[last];
  if (last < 1 || typeof ack !== 'function') return;
  packet[last] = (reply: unknown, ...rest: unknown[]) => {
    if (typeof reply === 'object' && reply !== null && (reply as OkReply).ok === true) onOk(reply as OkReply);
    return (ack as (...a: unknown[]) => unknown)(reply, ...rest);
  };
}

/**
 * GET /api/embed/frame-ancestors?key= → `{ origins }`: the origins that may frame /embed/frame with
 * this key (its allowed origins; none for an unknown or switched-off key). The web app turns it into
 * the frame's Content-Security-Policy. Public like the key itself: it sits in the partner's HTML.
 */
export function registerFrameAncestorsRoute(app: FastifyInstance, keys: PartnerKeyStore): void {
  app.get<{ Querystring: Record<string, string | undefined> }>('/api/embed/frame-ancestors', async (req, reply) => {
    const id = str(req.query.key, 104);
    const key = id ? await keys.get(id) : null;
    void reply.header('cache-control', 'public, max-age=30');
    return { origins: key?.active ? key.allowedOrigins : [] };
  });
}
