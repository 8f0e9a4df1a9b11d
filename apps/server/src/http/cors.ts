import type { FastifyInstance } from 'fastify';

/** Whether a browser on `origin` may call us. Requests without an Origin (curl, Node) always may. */
export function originAllowed(allowed: readonly string[], origin: string | undefined): boolean {
  return origin === undefined || allowed.includes('*') || allowed.includes(origin);
}

/**
 * CORS for the configured origins only (partner sites must be allow-listed). Preflights are answered
 * here, before routing; other requests get the allow header when their origin is listed.
 */
export function installCors(app: FastifyInstance, allowed: readonly string[]): void {
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin === undefined) return;
    const ok = originAllowed(allowed, origin);
    if (ok) {
      void reply.header('Access-Control-Allow-Origin', origin).header('Vary', 'Origin').header('Access-Control-Expose-Headers', 'X-Chorus-Version');
      // The admin console sends its session cookie: only to origins listed by name, never via '*'.
      if (allowed.includes(origin)) void reply.header('Access-Control-Allow-Credentials', 'true');
    }
    if (request.method === 'OPTIONS') {
      if (ok) {
        void reply
          .header('Access-Control-Allow-Methods', 'GET, POST, PUT, PATCH, DELETE, OPTIONS')
          .header('Access-Control-Allow-Headers', request.headers['access-control-request-headers'] ?? 'content-type')
          .header('Access-Control-Max-Age', '600');
      }
      return reply.status(ok ? 204 : 403).send();
    }
  });
}
