import type { Logger } from 'pino';
import type { Namespace, Server, Socket } from 'socket.io';
import { ChorusError } from '@chorus/core';
import type { AdminAuth, Principal } from '../auth/admin-auth.js';
import { roleAllows, type Access } from '../auth/access-policy.js';
import { requestToken } from '../auth/http-guard.js';
import { originMayUseCredentials } from '../http/origin-guard.js';
import type { RoundEngine } from '../rounds/round-engine.js';
import type { AdminEvent, AdminEventBus } from './admin-events.js';

export const ADMIN_NAMESPACE = '/admin';

/**
 * Events a console may send on /admin and the role each needs. The namespace is read-only: changes
 * go through the HTTP API (authorized and audited there). A test walks this list.
 */
export const ADMIN_CLIENT_EVENTS: Readonly<Record<string, Access>> = {
  subscribe: 'viewer',
  unsubscribe: 'viewer',
};

/** Events the server pushes: every AdminEvent type, under its own name. */
export const ADMIN_SERVER_EVENTS: readonly AdminEvent['type'][] = ['task:created', 'task:status', 'round:opened', 'round:closed', 'version:metrics', 'receipt', 'participants'];

const room = (taskId: string) => `admin-task:${taskId}`;
const wireError = (e: ChorusError) => Object.assign(new Error(e.message), { data: e.toWire() });

export interface AdminNamespaceOptions {
  readonly auth: AdminAuth;
  readonly bus: AdminEventBus;
  readonly engine: RoundEngine;
  readonly corsOrigins: readonly string[];
  readonly logger: Logger;
  /** How often connected-participant counts are pushed when they changed. @default 1000 */
  readonly participantsEveryMs?: number;
}

export function connectedByBackend(engine: RoundEngine, taskId: string): { connected: number; byBackend: Record<string, number> } {
  const { connected, byBackend } = engine.summary(taskId);
  return { connected, byBackend: { ...byBackend } };
}

/**
 * The console's live feed: Socket.IO namespace /admin. The handshake needs an admin session (the
 * cookie, or `auth.token`) from an allowed origin; every event is re-checked against the session,
 * so a signed-out or revoked console stops receiving. Returns a stop function.
 */
export function installAdminNamespace(io: Server, options: AdminNamespaceOptions): () => void {
  const { auth, bus, engine, logger } = options;
  const nsp: Namespace = io.of(ADMIN_NAMESPACE);
  const tokenOf = (socket: Socket): string | undefined => {
    const fromAuth = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    return typeof fromAuth === 'string' ? fromAuth : requestToken(socket.handshake.headers);
  };

  nsp.use((socket, next) => {
    // Named origins only, never '*': a WebSocket carries the cookie cross-site and has no CORS.
    const origin = socket.handshake.headers.origin;
    if (!originMayUseCredentials(options.corsOrigins, origin, socket.handshake.headers.host)) return next(wireError(new ChorusError('FORBIDDEN', `origin ${origin} may not open the admin feed`)));
    auth.authenticate(tokenOf(socket)).then(
      (principal) => {
        if (!principal) return next(wireError(new ChorusError('UNAUTHORIZED', 'sign in first: the admin feed needs an admin session')));
        socket.data.principal = principal;
        next();
      },
      (err: unknown) => next(wireError(ChorusError.from(err))),
    );
  });

  nsp.on('connection', (socket) => {
    socket.use(([event, ...args], next) => {
      const ack = typeof args.at(-1) === 'function' ? (args.at(-1) as (a: unknown) => void) : () => undefined;
      const access = ADMIN_CLIENT_EVENTS[event];
      void auth.authenticate(tokenOf(socket)).then((principal: Principal | null) => {
        let e: ChorusError | null = null;
        if (!principal) e = new ChorusError('UNAUTHORIZED', 'the admin session ended: sign in again');
        else if (!access) e = new ChorusError('BAD_REQUEST', `unknown admin event "${event}"`);
        else if (!roleAllows(principal.role, access)) e = new ChorusError('FORBIDDEN', `${principal.username} is a ${principal.role}: "${event}" needs an operator`);
        if (!e) return next();
        ack({ ok: false, error: e.toWire() });
        if (e.code === 'UNAUTHORIZED') socket.disconnect(true);
      });
    });
    socket.on('subscribe', (req: { taskId?: unknown }, ack?: (a: unknown) => void) => {
      const taskId = typeof req?.taskId === 'string' ? req.taskId : '';
      if (!engine.hasTask(taskId)) return ack?.({ ok: false, error: new ChorusError('NOT_FOUND', `task "${taskId}" does not exist`).toWire() });
      void socket.join(room(taskId));
      if (!engine.clustered) return ack?.({ ok: true, data: { taskId, ...connectedByBackend(engine, taskId) } });
      // Several processes: the coordinator's counts (every process's participants), or this mirror's if it does not answer.
      void engine.liveSummary(taskId).then(
        ({ connected, byBackend }) => ack?.({ ok: true, data: { taskId, connected, byBackend: { ...byBackend } } }),
        (err: unknown) => ack?.({ ok: false, error: ChorusError.from(err).toWire() }),
      );
    });
    socket.on('unsubscribe', (req: { taskId?: unknown }, ack?: (a: unknown) => void) => {
      if (typeof req?.taskId === 'string') void socket.leave(room(req.taskId));
      ack?.({ ok: true, data: {} });
    });
  });

  // Task-level facts go to every console (the task list); participants counts to the task's room.
  const off = bus.on((e) => {
    nsp.emit(e.type, e);
  });

  const last = new Map<string, string>();
  const timer = setInterval(() => {
    for (const taskId of engine.taskIds()) {
      // Several processes: only the coordinator pushes counts. Its members are every process's
      // participants, and the push reaches consoles on every process (the adapter), whose room it
      // cannot see; a mirror's own counts would contradict it.
      if (!engine.coordinates(taskId)) continue;
      if (!engine.clustered && (nsp.adapter.rooms.get(room(taskId))?.size ?? 0) === 0) continue;
      const counts = connectedByBackend(engine, taskId);
      const key = JSON.stringify(counts);
      if (last.get(taskId) === key) continue;
      last.set(taskId, key);
      bus.emit({ type: 'participants', taskId, ...counts });
    }
  }, options.participantsEveryMs ?? 1000);
  timer.unref();
  logger.debug('admin namespace ready');
  return () => {
    clearInterval(timer);
    off();
  };
}
