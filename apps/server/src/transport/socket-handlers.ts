import type { Logger } from 'pino';
import type { Server, Socket } from 'socket.io';
import type { z } from 'zod';
import {
  ChorusError,
  describeZodError,
  zodChorusError,
  capabilitiesUpdateSchema,
  joinRequestSchema,
  roundDeclineSchema,
  secAggClientMessageSchema,
  updateBeginSchema,
  updateChunkSchema,
  updateEndSchema,
  type Ack,
  type ClientToServerEvents,
  type ServerToClientEvents,
  type UpdateReceipt,
} from '@chorus/core';
import type { EngineTransport } from '../rounds/engine-deps.js';
import type { ParticipantGuard } from '../auth/participant-guard.js';
import type { RoundEngine } from '../rounds/round-engine.js';
import { UploadAssembler } from './upload-assembler.js';
import { UploadGate } from './upload-gate.js';
import { SpreadEmitter } from './spread-emitter.js';
import { YieldingQueue } from './yielding-queue.js';
import { ReadBudget, budgetWebSocketReads } from './read-budget.js';
import { SocketInbox } from './socket-inbox.js';

export type ChorusServer = Server<ClientToServerEvents, ServerToClientEvents>;
type ChorusSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

export const taskRoom = (taskId: string): string => `task:${taskId}`;

/** What the socket layer wants to hear of the engine's messages (the upload gate: round:cancel). */
export interface TransportTap {
  roundOver?(connectionId: string, roundId: string, reason: string): void;
  /** A round coordinated on another process is over: every begin waiting for it, whichever connection. */
  roundClosed?(roundId: string, reason: string): void;
  /**
   * Several processes: a send to sockets this process does not hold goes to the others over the
   * cluster's bus (ClusterCoordination.relay), and lands in their emit queues behind what they are
   * already writing. Without it (or when it returns false), the Redis adapter carries it.
   */
  relay?(socketIds: readonly string[], event: keyof ServerToClientEvents, msg: unknown): boolean;
  /** A broadcast reached every socket of this process it was for: how many, and how long it took (ms). */
  written?(event: keyof ServerToClientEvents, sockets: number, ms: number, msg: unknown): void;
}

/** The engine's transport, and the way in for sends relayed by another process. */
export interface SocketTransport extends EngineTransport {
  /** Sends relayed from another process: those for sockets held here are queued like this process's own sends. */
  deliver(socketIds: readonly string[], event: keyof ServerToClientEvents, msg: unknown): void;
}

/** Engine → participants over Socket.IO: one room per task, and each socket's own room by id. */
export function createSocketTransport(io: ChorusServer, tap: TransportTap = {}): SocketTransport {
  type Event = keyof ServerToClientEvents;
  // Broadcasts go out a batch of sockets per event-loop turn (see SpreadEmitter), so /healthz,
  // timers and downloads are answered while 10,000 participants hear of a new version.
  const out = new SpreadEmitter<Event, unknown>({
    members: (room) => io.sockets.adapter.rooms.get(room) ?? [],
    emit: (ids, event, msg) => {
      const args = [msg] as Parameters<ServerToClientEvents[typeof event]>;
      // This process's own sockets are written here, `local`: through the Redis adapter (several
      // processes) every emit is first published on the stream and written only once Redis has
      // answered, and every other process reads and decodes it to find none of its sockets. Each
      // process relays a new version to its own task room (the bus's broadcast), ~130 emits of 25
      // sockets for 3,333 participants, and a round's invites and cancels are hundreds more. Only a
      // direct send to a socket on another process (an invite from the coordinator) leaves this one:
      // over the bus (tap.relay) where there is one, so it waits in that process's queue behind the
      // new version it is still writing, as it would on one process (the adapter wrote it at once:
      // the next round's invites, downloads and uploads then ran during the broadcast).
      const here: string[] = [];
      const remote: string[] = [];
      for (const id of ids) (io.sockets.sockets.has(id) ? here : remote).push(id);
      if (here.length > 0) io.local.to(here).emit(event, ...args);
      if (remote.length > 0 && !tap.relay?.(remote, event, msg)) io.to(remote).emit(event, ...args);
    },
    written: (event, sockets, ms, msg) => tap.written?.(event, sockets, ms, msg),
  });
  return {
    send: (connectionId, event, msg) => {
      if (event === 'round:cancel') {
        const m = msg as { roundId: string; reason: string };
        tap.roundOver?.(connectionId, m.roundId, m.reason);
      }
      out.send(connectionId, event, msg);
    },
    broadcast: (taskId, event, msg) => out.broadcast(taskRoom(taskId), event, msg),
    deliver: (socketIds, event, msg) => {
      const here = socketIds.filter((id) => io.sockets.sockets.has(id));
      if (here.length > 0) out.sendMany(here, event, msg);
    },
  };
}

/** Kept for the routes that import it from here; the one formatter lives in core. */
export { describeZodError };

/**
 * A socket's logger: the server's with the socket's id bound, made when something is logged, not
 * kept per socket (a pino child is an object graph of its own, and 10,000 idle sockets log nothing).
 */
const socketLog = (logger: Logger, socket: ChorusSocket): Logger => logger.child({ socket: socket.id });

/** A handler's failure as the ack's error; unexpected ones are logged. */
function refusal<R>(logger: Logger, socket: ChorusSocket, event: string, err: unknown): Ack<R> {
  const e = ChorusError.from(err);
  if (e.code === 'INTERNAL') socketLog(logger, socket).error({ err, event, socket: socket.id }, 'handler failed');
  else if (logger.isLevelEnabled('debug')) socketLog(logger, socket).debug({ event, code: e.code, message: e.message, socket: socket.id }, 'request refused');
  return { ok: false, error: e.toWire() };
}

/**
 * Every event is validated with its zod schema before use; any failure becomes a typed Ack error and
 * never reaches the round. A client that sends no ack callback is tolerated (the reply is dropped).
 *
 * The work runs through `inbox`, not in the socket's read callback: libuv reads every ready socket in
 * one poll phase, so with thousands of uploads in flight one turn handled hundreds of chunks (schema
 * check, handler, one ack write each) while timers and /healthz waited. Queued, the handlers run a
 * slice per turn in arrival order (each socket's events stay in order), and a synchronous handler
 * acks inside its slice, so the ack writes count against the slice too. An event whose socket closed
 * before its turn is dropped: nobody could read the ack, and the disconnect has dropped its upload.
 *
 * The listener is made once per server and shared by every socket (an emitter calls it with the
 * socket as `this`): per-socket closures for seven events were a few kilobytes of heap per idle
 * participant (issue 11).
 */
function listener<S extends z.ZodType, R>(
  logger: Logger,
  inbox: SocketInbox,
  event: keyof ClientToServerEvents,
  schema: S,
  handler: (socket: ChorusSocket, msg: z.infer<S>) => R | Promise<R>,
  afterAck?: (socket: ChorusSocket, msg: z.infer<S>, result: R) => void,
): (this: ChorusSocket, ...args: unknown[]) => void {
  return function (this: ChorusSocket, ...args: unknown[]): void {
    const socket = this;
    const last = args.at(-1);
    const ack = typeof last === 'function' ? (last as (a: Ack<R>) => void) : () => undefined;
    const raw = typeof args[0] === 'function' ? undefined : args[0];
    const reply = (answer: Ack<R>, parsed: z.infer<S> | undefined, result: R | undefined): void => {
      try {
        ack(answer);
      } catch (err) {
        socketLog(logger, socket).warn({ err, event }, 'ack failed');
      }
      if (answer.ok && afterAck) afterAck(socket, parsed as z.infer<S>, result as R);
    };
    inbox.run(socket, () => {
      if (socket.disconnected) return;
      let parsed: z.infer<S>;
      let result: R | Promise<R>;
      try {
        const p = schema.safeParse(raw);
        if (!p.success) throw zodChorusError('BAD_REQUEST', p.error, event);
        parsed = p.data;
        result = handler(socket, parsed);
      } catch (err) {
        reply(refusal(logger, socket, event, err), undefined, undefined);
        return;
      }
      if (!(result instanceof Promise)) {
        reply({ ok: true, data: result }, parsed, result);
        return;
      }
      result.then(
        (data) => reply({ ok: true, data }, parsed, data),
        (err: unknown) => reply(refusal(logger, socket, event, err), undefined, undefined),
      );
    }).catch((err: unknown) => socketLog(logger, socket).error({ err, event }, 'after-ack step failed'));
  };
}

const HANDLED_EVENTS: ReadonlySet<string> = new Set<keyof ClientToServerEvents>(['join', 'capabilities', 'round:decline', 'secagg:message', 'update:begin', 'update:chunk', 'update:end']);

/** An event nobody handles still gets an answer, so a client waiting on its ack is not left hanging. */
function answerUnknown(event: unknown, ...args: unknown[]): void {
  if (typeof event === 'string' && HANDLED_EVENTS.has(event)) return;
  const ack = args.at(-1);
  if (typeof ack !== 'function') return;
  const name = typeof event === 'string' ? event.slice(0, 64) : typeof event;
  (ack as (a: Ack<never>) => void)({ ok: false, error: new ChorusError('BAD_REQUEST', `unknown event "${name}"`).toWire() });
}

export function attachSocketHandlers(
  io: ChorusServer,
  engine: RoundEngine,
  options: { maxChunkBytes: number; logger: Logger; guard?: ParticipantGuard; uploadBudgetBytes?: number; tap?: TransportTap; onUploadEnded?: (taskId: string, accepted: boolean) => void },
): void {
  const { maxChunkBytes, logger, guard } = options;
  const uploads = new UploadAssembler(maxChunkBytes, undefined, options.uploadBudgetBytes);
  const gate = new UploadGate({
    openSlots: (taskId, roundId) => engine.openSlots(taskId, roundId),
    fits: (bytes) => uploads.fits(bytes),
    inFlightChanged: (taskId, roundId, count) => engine.uploadsRunning(taskId, roundId, count),
    refresh: (taskId, roundId) => engine.refreshSlots(taskId, roundId),
  });
  const folds = new YieldingQueue();
  // Clients' events take turns too (see listener()): a slice of handlers per turn of the event loop.
  const inbox = new SocketInbox();
  // And the poll phase before it: a bounded number of bytes read from WebSockets per turn (ReadBudget).
  budgetWebSocketReads(io.engine, new ReadBudget());
  if (options.tap) {
    options.tap.roundOver = (connectionId, roundId, reason) => gate.roundOver(connectionId, roundId, reason);
    options.tap.roundClosed = (roundId, reason) => gate.roundClosed(roundId, reason);
  }

  /** Ends an upload (update:end, or its last chunk): folded here or forwarded to the coordinator; the receipt. */
  async function endUpload(socket: ChorusSocket, uploadId: string): Promise<UpdateReceipt> {
    const pending = uploads.pending(socket.id, uploadId);
    let ended: ReturnType<UploadAssembler['end']>;
    try {
      ended = uploads.end(socket.id, uploadId);
    } catch (err) {
      // An upload ended short is dropped: its slot goes to a waiting participant now, not when this one leaves.
      if (pending) gate.release(socket.id, pending.roundId);
      throw err;
    }
    const { begin, bytes } = ended;
    try {
      // The fold waits its turn: many uploads ending at once must not hold timers and /healthz back.
      // On another process than the task's coordinator the update is forwarded there instead.
      const receipt = await engine.submitUpload(socket.id, begin, bytes, (job) => folds.run(job));
      options.onUploadEnded?.(begin.taskId, receipt.accepted);
      return receipt;
    } catch (err) {
      options.onUploadEnded?.(begin.taskId, false);
      throw err;
    } finally {
      gate.release(socket.id, begin.roundId);
    }
  }

  // One listener per event for the whole server, registered on each socket (see listener()).
  const listeners: [keyof ClientToServerEvents, (this: ChorusSocket, ...args: unknown[]) => void][] = [
    [
      'join',
      listener(
        logger,
        inbox,
        'join',
        joinRequestSchema,
        async (socket, req) => {
          if (!guard) return { ...(await engine.join(req)), maxChunkBytes };
          // The identity comes from the signed token; the token is spent and the next one goes back.
          await guard.admitJoin(socket.id, socket.handshake.address);
          const claim = await guard.identify(req, socket.id);
          const res = await engine.join(claim.request);
          return { ...res, maxChunkBytes, token: await guard.issue(claim, res.participantId, socket.id) };
        },
        (socket, req, res) => {
          // After the ack: the client knows its participant id before an invite can reach it.
          if (socket.disconnected) return;
          void socket.join(taskRoom(req.taskId));
          engine.attach(socket.id, req.taskId, res.participantId, req.capabilities);
          socketLog(logger, socket).info({ taskId: req.taskId, participantId: res.participantId, backend: req.capabilities.backend }, 'participant joined');
        },
      ),
    ],

    [
      'capabilities',
      listener(logger, inbox, 'capabilities', capabilitiesUpdateSchema, (socket, req) => {
        engine.updateCapabilities(socket.id, req.taskId, req.capabilities);
        return { ok: true as const };
      }),
    ],

    [
      'round:decline',
      listener(logger, inbox, 'round:decline', roundDeclineSchema, (socket, req) => {
        engine.decline(socket.id, req.taskId, req.roundId, req.reason);
        return { ok: true as const };
      }),
    ],

    [
      'secagg:message',
      listener(logger, inbox, 'secagg:message', secAggClientMessageSchema, async (socket, req) => {
        // A part of a chunked masked input is bounded like an update chunk (the round checks the rest).
        const part = (req.message as { masked?: unknown } | null)?.masked;
        const partBytes = part instanceof ArrayBuffer || ArrayBuffer.isView(part) ? part.byteLength : 0;
        if (req.chunk && partBytes > maxChunkBytes) throw new ChorusError('PAYLOAD_TOO_LARGE', `secagg:message part is ${partBytes} bytes; at most ${maxChunkBytes} per part`);
        await engine.secureMessage(socket.id, req);
        return { ok: true as const };
      }),
    ],

    [
      'update:begin',
      listener(logger, inbox, 'update:begin', updateBeginSchema, async (socket, req) => {
        const participantId = engine.participantOf(socket.id, req.taskId);
        try {
          await guard?.admitUpload(socket.handshake.address, participantId);
        } catch (err) {
          // Nothing more will come from this participant in this round: the round need not wait for it.
          engine.refuseUpload(socket.id, req.taskId, req.roundId, ChorusError.from(err));
          throw err;
        }
        await engine.checkUpload(socket.id, req);
        // Over-selected participants wait here (no bytes sent) while the round has all the uploads it needs.
        await gate.admit(socket.id, req.taskId, req.roundId, req.byteLength);
        try {
          if (socket.disconnected) throw new ChorusError('UNAVAILABLE', 'the connection closed');
          await engine.checkUpload(socket.id, req, { running: true }); // the round may have closed while it waited
          return { uploadId: uploads.begin(socket.id, req), maxChunkBytes };
        } catch (err) {
          gate.release(socket.id, req.roundId);
          throw err;
        }
      }),
    ],

    [
      'update:chunk',
      listener(logger, inbox, 'update:chunk', updateChunkSchema, (socket, req) => {
        const begin = uploads.pending(socket.id, req.uploadId);
        let received: number;
        try {
          // A round that closed mid-upload stops it at the next chunk, not after the last one.
          if (begin) engine.beginUpdate(socket.id, begin);
          received = uploads.chunk(socket.id, req.uploadId, req.seq, req.data);
        } catch (err) {
          if (begin && !uploads.pending(socket.id, req.uploadId)) gate.release(socket.id, begin.roundId);
          else if (begin && ChorusError.from(err).roundOver) {
            uploads.abort(socket.id, req.uploadId);
            gate.release(socket.id, begin.roundId);
          }
          throw err;
        }
        // The last chunk ends the upload: its ack carries the receipt (one round trip fewer than update:end).
        return req.last ? endUpload(socket, req.uploadId).then((receipt) => ({ received, receipt })) : { received };
      }),
    ],

    [
      'update:end',
      listener(logger, inbox, 'update:end', updateEndSchema, (socket, req) => endUpload(socket, req.uploadId)),
    ],
  ];

  function onDisconnect(this: ChorusSocket, reason: string): void {
    uploads.dropConnection(this.id);
    gate.dropConnection(this.id);
    engine.detach(this.id);
    if (logger.isLevelEnabled('debug')) socketLog(logger, this).debug({ reason }, 'disconnected');
  }

  io.on('connection', (socket) => {
    if (logger.isLevelEnabled('debug')) socketLog(logger, socket).debug('connected');
    const on = socket as unknown as { on(e: string, fn: (this: ChorusSocket, ...args: unknown[]) => void): void };
    for (const [event, fn] of listeners) on.on(event, fn);
    socket.onAny(answerUnknown);
    socket.on('disconnect', onDisconnect);
  });
}
