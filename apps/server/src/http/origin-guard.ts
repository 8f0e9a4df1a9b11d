import type { FastifyInstance } from 'fastify';
import { ChorusError } from '@chorus/core';

/** Methods that change something; a browser sends these cross-site with cookies unless we refuse. */
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The origin a browser says a request comes from: `Origin`, else the origin of `Referer` (some
 * browsers omit Origin on same-origin POSTs), else undefined (curl, Node, server-to-server: they
 * carry no ambient cookie a page could abuse). An unparseable Referer reads as 'null'.
 */
export function requestOrigin(headers: { origin?: string | undefined; referer?: string | undefined }): string | undefined {
  if (headers.origin !== undefined) return headers.origin;
  if (headers.referer === undefined) return undefined;
  try {
    return new URL(headers.referer).origin;
  } catch {
    return 'null';
  }
}

/**
 * Whether a caller on `origin` may act with the credentials the browser attaches by itself (the
 * session cookie). Only origins listed by name, or the server's own (`host`, as in the Host
 * header), qualify: '*' lets anonymous participants in from anywhere, never a change with a cookie.
 * `Origin: null` (sandboxed frames, file: pages, some redirects) is nobody's and never qualifies.
 */
export function originMayUseCredentials(allowed: readonly string[], origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  if (origin === 'null') return false;
  if (allowed.includes(origin)) return true;
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

/**
 * CSRF defence for the HTTP API: every POST/PUT/PATCH/DELETE whose Origin (or Referer) is not a
 * named allowed origin or our own is refused 403 before authentication, whatever it carries.
 * CORS alone does not do this: a body-less or form POST needs no preflight and is sent with the
 * cookie, and SameSite=Lax still sends it from sibling subdomains and other ports of the same host.
 */
export function installOriginGuard(app: FastifyInstance, allowed: readonly string[]): void {
  app.addHook('onRequest', async (request) => {
    if (!UNSAFE.has(request.method)) return;
    const origin = requestOrigin(request.headers);
    if (originMayUseCredentials(allowed, origin, request.headers.host)) return;
    throw new ChorusError('FORBIDDEN', `origin ${origin} may not ${request.method} here: only the Chorus console's origins (CHORUS_CORS_ORIGINS, listed by name) may change things`);
  });
}
