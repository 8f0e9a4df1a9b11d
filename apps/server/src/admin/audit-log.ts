import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

export interface AuditEntry {
  readonly seq: number;
  readonly at: number;
  /** Username, "api-token", or "anonymous" for a refused caller. */
  readonly actor: string;
  /** e.g. "task.start", "user.create", "login". */
  readonly action: string;
  /** What it acted on: a task id, a username. */
  readonly target: string | null;
  /** ok, unauthenticated, forbidden, rate-limited, failed */
  readonly outcome: string;
  readonly status: number;
  readonly ip: string | null;
  /** The error code of a failed action. */
  readonly detail: string | null;
}

export type NewAuditEntry = Omit<AuditEntry, 'seq'>;

/** Append-only record of every admin action. Part of `Storage` (`storage.audit`). */
export interface AuditLog {
  record(e: NewAuditEntry): Promise<void>;
  /** Newest first; `before` pages back by sequence number. */
  list(limit: number, before?: number): Promise<AuditEntry[]>;
}

/** Readable names for the routes an operator uses; anything else is recorded as "METHOD /pattern". */
const ACTIONS: Readonly<Record<string, string>> = {
  'POST /api/tasks': 'task.create',
  'POST /api/admin/tasks/upload': 'task.create-upload',
  'POST /api/tasks/:id/start': 'task.start',
  'POST /api/tasks/:id/pause': 'task.pause',
  'POST /api/tasks/:id/resume': 'task.resume',
  'POST /api/tasks/:id/stop': 'task.stop',
  'POST /api/admin/login': 'login',
  'POST /api/admin/logout': 'logout',
  'POST /api/admin/setup': 'setup',
  'POST /api/admin/users': 'user.create',
};

function outcomeOf(status: number): string {
  if (status < 400) return 'ok';
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'forbidden';
  if (status === 429) return 'rate-limited';
  return 'failed';
}

function targetOf(params: unknown, body: unknown): string | null {
  const p = (params ?? {}) as Record<string, unknown>;
  if (typeof p.id === 'string') return p.id;
  const b = (body ?? {}) as { config?: { id?: unknown }; username?: unknown };
  if (typeof b.config?.id === 'string') return b.config.id;
  if (typeof b.username === 'string') return b.username.slice(0, 64);
  return null;
}

export interface AuditHookOptions {
  /** Rows per client IP per minute for refused calls by callers without a session (the rest are counted). @default 10 */
  readonly anonymousRefusalsPerMinute?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Beyond this many addresses, finished windows are dropped (their suppressed counts logged). */
const MAX_TRACKED_IPS = 10_000;

/**
 * Refused calls without a session are cheap to make and each would be a row: per address, only the
 * first `limit` of each minute are written; the rest are counted, and the address's next written
 * row says how many were left out (and the server log says so when counting starts).
 */
export class RefusalSampler {
  private readonly windows = new Map<string, { start: number; written: number; suppressed: number }>();

  constructor(private readonly limit: number, private readonly logger: Logger) {}

  /** null: do not write; else the number of refusals from this address left out since its last row. */
  admit(ip: string, now: number): number | null {
    let w = this.windows.get(ip);
    let carried = 0;
    if (!w || now - w.start >= 60_000) {
      carried = w?.suppressed ?? 0;
      if (!w && this.windows.size >= MAX_TRACKED_IPS) this.prune(now);
      w = { start: now, written: 0, suppressed: 0 };
      this.windows.set(ip, w);
    }
    if (w.written < this.limit) {
      w.written++;
      return carried;
    }
    if (w.suppressed++ === 0) this.logger.warn({ ip, limit: this.limit }, 'audit: more refused anonymous calls from this address this minute than are recorded; counting the rest');
    return null;
  }

  private prune(now: number): void {
    for (const [ip, w] of this.windows) {
      if (now - w.start < 60_000) continue;
      if (w.suppressed > 0) this.logger.warn({ ip, suppressed: w.suppressed }, 'audit: refused anonymous calls not recorded');
      this.windows.delete(ip);
    }
  }
}

/**
 * Every change request that reaches a route (allowed or refused) is written to the audit log after
 * the response, with who, what, target, outcome. Reads are not audited: they change nothing.
 * Refusals of callers without a session are sampled per address (RefusalSampler); everything a
 * signed-in admin or the API token does, and every success, is always written.
 */
export function installAuditHook(app: FastifyInstance, audit: AuditLog, logger: Logger, options: AuditHookOptions = {}): void {
  const now = options.now ?? Date.now;
  const sampler = new RefusalSampler(options.anonymousRefusalsPerMinute ?? 10, logger);
  app.addHook('onSend', async (request, reply, payload) => {
    // The error code of a failed action, read from our own JSON error body.
    if (reply.statusCode >= 400 && typeof payload === 'string' && payload.startsWith('{"error"')) {
      (request as unknown as { auditDetail?: string }).auditDetail = /"code":"([A-Z_]+)"/.exec(payload)?.[1];
    }
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    const url = request.routeOptions.url;
    if (url === undefined || request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') return;
    const at = now();
    let detail = (request as unknown as { auditDetail?: string }).auditDetail ?? null;
    if (!request.principal && reply.statusCode >= 400) {
      const left = sampler.admit(request.ip, at);
      if (left === null) return;
      if (left > 0) detail = `${detail ?? ''} (+${left} similar refusals from this address not recorded)`.trim();
    }
    const key = `${request.method} ${url}`;
    const body = request.body as { username?: unknown } | undefined;
    const actor = request.principal?.username ?? (key === 'POST /api/admin/login' && typeof body?.username === 'string' ? body.username.slice(0, 64) : 'anonymous');
    try {
      await audit.record({
        at,
        actor,
        action: ACTIONS[key] ?? key,
        target: targetOf(request.params, request.body),
        outcome: outcomeOf(reply.statusCode),
        status: reply.statusCode,
        ip: request.ip,
        detail,
      });
    } catch (err) {
      logger.error({ err, action: key }, 'audit log write failed');
    }
  });
}
