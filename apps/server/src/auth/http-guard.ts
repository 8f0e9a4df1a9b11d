import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ChorusError } from '@chorus/core';
import type { AdminAuth, Principal } from './admin-auth.js';
import { requiredAccess, roleAllows } from './access-policy.js';

export const SESSION_COOKIE = 'chorus_session';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth guard for a signed-in caller; null for anonymous ones. */
    principal: Principal | null;
  }
}

/** The token a request carries: `Authorization: Bearer …` first, then the session cookie. */
export function requestToken(headers: { authorization?: string | undefined; cookie?: string | undefined }): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '');
  if (bearer) return bearer[1];
  if (!headers.cookie) return undefined;
  return fastifyCookie.parse(headers.cookie)[SESSION_COOKIE] || undefined;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

export interface GuardOptions {
  /** CHORUS_METRICS_TOKEN: Bearer token for /metrics; without one, only loopback callers may scrape. */
  readonly metricsToken?: string;
}

/**
 * Installs the cookie parser and one onRequest hook that checks every route against the access
 * policy: 401 UNAUTHORIZED without valid credentials, 403 FORBIDDEN for a viewer on a change.
 * Runs after CORS (preflights are answered before it) and before the route handler.
 */
export async function installAuthGuard(app: FastifyInstance, auth: AdminAuth, options: GuardOptions = {}): Promise<void> {
  await app.register(fastifyCookie);
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const url = request.routeOptions.url;
    if (url === undefined) return; // no such route: the 404 handler answers
    const access = requiredAccess(request.method, url);
    request.principal = await auth.authenticate(requestToken(request.headers));
    if (access === 'public') return;
    if (access === 'metrics') {
      const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
      if (options.metricsToken ? bearer === options.metricsToken : LOOPBACK.has(request.ip)) return;
      if (request.principal) return;
      throw new ChorusError('UNAUTHORIZED', options.metricsToken ? 'metrics: send Authorization: Bearer <CHORUS_METRICS_TOKEN>' : 'metrics: only loopback callers may scrape (set CHORUS_METRICS_TOKEN to scrape remotely)');
    }
    if (!request.principal) throw new ChorusError('UNAUTHORIZED', 'sign in first: this needs an admin session or API token');
    if (!roleAllows(request.principal.role, access)) {
      throw new ChorusError('FORBIDDEN', `${request.principal.username} is a ${request.principal.role}: only operators may ${request.method} ${url}`);
    }
  });
}
