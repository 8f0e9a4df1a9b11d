import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ChorusError, strategyCatalog } from '@chorus/core';
import type { AuditLog } from '../admin/audit-log.js';
import type { AdminAuth } from '../auth/admin-auth.js';
import type { AdminUser } from '../auth/auth-store.js';
import { SESSION_COOKIE } from '../auth/http-guard.js';
import { loadMl } from '../tasks/ml-loader.js';
import type { TransportSecurity } from './transport-security.js';
import { parseLimit, type RouteContext } from './task-routes.js';

export interface AdminRouteContext extends RouteContext {
  readonly auth: AdminAuth;
  readonly audit: AuditLog;
  /** Send the session cookie with `Secure` even on a request that did not arrive over HTTPS. */
  readonly secureCookies: boolean;
  /** Tells whether a request arrived over HTTPS (our TLS, or a trusted proxy's): its cookie is then Secure. */
  readonly transport: TransportSecurity;
}

type Credentials = { username?: unknown; password?: unknown; tokenInBody?: unknown };

const publicUser = (u: AdminUser) => ({ id: u.id, username: u.username, role: u.role, createdAt: u.createdAt, createdBy: u.createdBy });

/**
 * Sign-in, first-run setup, accounts, the audit log, and the lists the console's forms need
 * (strategies, model templates). Access rules are in auth/access-policy.ts, enforced by the guard.
 */
export function registerAdminRoutes(app: FastifyInstance, ctx: AdminRouteContext): void {
  const { auth, audit, secureCookies, transport, logger } = ctx;

  function setSession(req: FastifyRequest, reply: FastifyReply, token: string, expiresAt: number): void {
    const secure = secureCookies || transport.isHttps(req.raw);
    void reply.setCookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'lax', secure, path: '/', expires: new Date(expiresAt) });
  }

  app.post<{ Body: Credentials }>('/api/admin/login', async (req, reply) => {
    const body = req.body ?? {};
    const { token, user, expiresAt } = await auth.login(body.username, body.password, req.ip);
    setSession(req, reply, token, expiresAt);
    logger.info({ username: user.username, ip: req.ip }, 'admin signed in');
    // Tools may ask for the token to send as Bearer; the console relies on the HttpOnly cookie only.
    return { user: publicUser(user), expiresAt, ...(body.tokenInBody === true ? { token } : {}) };
  });

  app.post('/api/admin/logout', async (req, reply) => {
    await auth.logout(req.principal);
    void reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { signedOut: true };
  });

  app.get('/api/admin/session', async (req) => ({ user: { username: req.principal!.username, role: req.principal!.role, kind: req.principal!.kind } }));

  app.get('/api/admin/setup', async () => ({ needsSetup: await auth.needsSetup() }));

  app.post<{ Body: Credentials & { setupToken?: unknown } }>('/api/admin/setup', async (req, reply) => {
    const body = req.body ?? {};
    const user = await auth.setup(body.setupToken, body.username, body.password);
    const session = await auth.login(body.username, body.password, req.ip);
    setSession(req, reply, session.token, session.expiresAt);
    return reply.status(201).send({ user: publicUser(user), expiresAt: session.expiresAt });
  });

  app.get('/api/admin/users', async () => ({ users: (await auth.store.listUsers()).map(publicUser) }));

  app.post<{ Body: Credentials & { role?: unknown } }>('/api/admin/users', async (req, reply) => {
    const body = req.body ?? {};
    const user = await auth.createUser(req.principal!, body.username, body.password, body.role);
    return reply.status(201).send({ user: publicUser(user) });
  });

  app.get<{ Querystring: { limit?: string; before?: string } }>('/api/admin/audit', async (req) => {
    const before = req.query.before === undefined ? undefined : Number(req.query.before);
    if (before !== undefined && !(Number.isInteger(before) && before > 0)) throw new ChorusError('BAD_REQUEST', `before: expected a positive integer, got "${req.query.before}"`);
    return { entries: await audit.list(parseLimit(req.query.limit, 100), before) };
  });

  // Signed-in (viewer): the console draws its option fields from these JSON Schemas.
  app.get('/api/strategies', async () => strategyCatalog());

  app.get('/api/admin/templates', async () => {
    const ml = await loadMl(logger);
    return { templates: ml.listModelTemplates().map((t) => ({ id: t.id, description: t.description, data: t.data, ...(t.training ? { training: t.training } : {}) })) };
  });
}
