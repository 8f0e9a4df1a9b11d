import type { Role } from './auth-store.js';

/**
 * Who may call what. Secure by default: a route that is not listed here needs a `viewer` to read
 * (GET/HEAD) and an `operator` to change anything. What participants and browsers need without an
 * account is listed, with the reason:
 */
export const PUBLIC_ROUTES: Readonly<Record<string, string>> = {
  'GET /healthz': 'liveness probe',
  'GET /readyz': 'readiness probe',
  // Participants download the global model they train on; it is sent to every participant anyway.
  'GET /api/tasks/:id/versions/:v/weights': 'participants download the model (binary payload)',
  'GET /api/tasks/:id/versions/:v/delta': 'participants download a version as its difference from the one before',
  'GET /api/tasks/:id/versions/:v/model.json': 'participants download the model (TensorFlow.js)',
  'GET /api/tasks/:id/versions/:v/weights.bin': 'participants download the model (TensorFlow.js weights)',
  'GET /api/embed/check': 'the partner embed asks whether its key, task and origin are allowed',
  'GET /api/embed/frame-ancestors': "the web app sets the embed frame's frame-ancestors from the key's (public) allowed origins",
  'POST /api/admin/login': 'signing in',
  'POST /api/admin/logout': 'signing out (revokes the session in the cookie, if any)',
  'GET /api/admin/setup': 'whether the first account still needs creating',
  'POST /api/admin/setup': 'first-run account creation with the one-time setup token',
  'GET /partner-demo.html': 'a static page from public/ for trying the script tag by hand (with the demo task on)',
};

/** /metrics has its own rule (CHORUS_METRICS_TOKEN or loopback), so scrapers need no account. */
export const METRICS_ROUTE = 'GET /metrics';

export type Access = 'public' | 'metrics' | Role;

const READS = new Set(['GET', 'HEAD']);

/** The access a fastify route (method + URL pattern, e.g. "POST /api/tasks/:id/start") requires. */
export function requiredAccess(method: string, url: string): Access {
  const key = `${method === 'HEAD' ? 'GET' : method} ${url}`;
  if (key === METRICS_ROUTE) return 'metrics';
  if (key in PUBLIC_ROUTES) return 'public';
  return READS.has(method) ? 'viewer' : 'operator';
}

/** Whether the role satisfies the access level (operators can do everything viewers can). */
export function roleAllows(role: Role, access: Access): boolean {
  return access === 'viewer' ? true : access === 'operator' ? role === 'operator' : true;
}
