import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { PROTOCOL_VERSION, optionsJsonSchema, taskConfigSchema, type JsonSchema } from '@chorus/core';
import { requiredAccess } from '../auth/access-policy.js';
import { SESSION_COOKIE } from '../auth/http-guard.js';
import { newPartnerKeyBody, partnerKeyBody } from '../partners/partner-admin-routes.js';
import { createTaskRequestSchema } from '../tasks/task-factory.js';
import { modelUploadRequestSchema } from './model-upload-routes.js';

/** What the document says about one route; request bodies are the zod schemas the route parses with. */
export interface RouteDoc {
  readonly summary: string;
  readonly body?: z.ZodType;
}

const credentials = z.strictObject({
  username: z.string().meta({ description: 'Account name.' }),
  password: z.string().meta({ description: 'Account password.' }),
  tokenInBody: z.boolean().optional().meta({ description: 'Also return the session token in the body (for scripts) besides the cookie.' }),
});

const taskAction = (verb: string): RouteDoc => ({ summary: `${verb} the task.` });

/**
 * One line per HTTP route. The document lists every route the server registered (taken from
 * fastify, not from this table); a route missing here is listed without a summary, which the
 * test in api-docs.test.ts refuses, so a new route ships documented.
 */
export const ROUTE_DOCS: Readonly<Record<string, RouteDoc>> = {
  'GET /healthz': { summary: 'Liveness probe.' },
  'GET /readyz': { summary: 'Readiness probe: 503 until the storage answers.' },
  'GET /metrics': { summary: 'Prometheus metrics (CHORUS_METRICS_TOKEN bearer, loopback, or a signed-in admin).' },
  'GET /api/tasks': { summary: 'Every task with its status and latest version.' },
  'GET /api/tasks/:id': { summary: 'One task with its last versions and rounds.' },
  'POST /api/tasks': { summary: 'Create a task from a model template (config: see the task config schema).', body: createTaskRequestSchema },
  'POST /api/tasks/:id/start': taskAction('Start'),
  'POST /api/tasks/:id/pause': taskAction('Pause'),
  'POST /api/tasks/:id/resume': taskAction('Resume'),
  'POST /api/tasks/:id/stop': taskAction('Stop'),
  'GET /api/tasks/:id/rounds': { summary: 'Rounds of a task, newest first (?limit).' },
  'GET /api/tasks/:id/rounds/:round/receipts': { summary: 'Receipts of the updates accepted in a round.' },
  'GET /api/tasks/:id/rounds/:round/selection': { summary: 'Why each participant of a round was picked: the selection policy and, per pseudonymous id, utility, speed and reliability.' },
  'GET /api/tasks/:id/versions': { summary: 'Model versions of a task, newest first (?limit).' },
  'GET /api/tasks/:id/versions/:v/weights': { summary: 'Weights of a version as a Chorus binary payload.' },
  'GET /api/tasks/:id/versions/:v/delta': { summary: "A version's difference from the version before, encoded with the task's download codec (recent versions only); with ?from=u, its int8 difference from any retained earlier version u (within int8's stated error)." },
  'GET /api/tasks/:id/versions/:v/model.json': { summary: 'A version as a TensorFlow.js model.json.' },
  'GET /api/tasks/:id/versions/:v/weights.bin': { summary: "A version's TensorFlow.js weights file." },
  'POST /api/admin/tasks/upload': { summary: 'Create a task from an uploaded TensorFlow.js model.', body: modelUploadRequestSchema },
  'POST /api/admin/login': { summary: 'Sign in: sets the session cookie.', body: credentials },
  'POST /api/admin/logout': { summary: 'Sign out: revokes the session in the cookie, if any.' },
  'GET /api/admin/session': { summary: 'Who is signed in.' },
  'GET /api/admin/setup': { summary: 'Whether the first account still needs creating.' },
  'POST /api/admin/setup': { summary: 'First-run account creation with the one-time setup token.' },
  'GET /api/admin/users': { summary: 'Accounts.' },
  'POST /api/admin/users': { summary: 'Create an account (role viewer or operator).' },
  'GET /api/admin/audit': { summary: 'Audit log, newest first (?limit, ?before).' },
  'GET /api/admin/templates': { summary: 'Model templates a task can be created from.' },
  'GET /api/strategies': { summary: 'Strategies and aggregators with their options as JSON Schema, and the update codecs.' },
  'GET /api/docs': { summary: 'This document (OpenAPI 3.1).' },
  'GET /api/partner-keys': { summary: 'Partner keys with their usage today.' },
  'POST /api/partner-keys': { summary: 'Create a partner key.', body: newPartnerKeyBody },
  'PUT /api/partner-keys/:id': { summary: 'Replace a partner key.', body: partnerKeyBody },
  'DELETE /api/partner-keys/:id': { summary: 'Delete a partner key.' },
  'GET /api/embed/check': { summary: 'Whether a partner key, task and origin may embed.' },
  'GET /api/embed/frame-ancestors': { summary: "The embed frame's frame-ancestors for a partner key." },
};

const ACCESS_WORDS = { public: 'anyone', metrics: 'the metrics token, loopback or a signed-in admin', viewer: 'a signed-in viewer or operator', operator: 'a signed-in operator' } as const;

/** fastify's `/a/:id/*` as OpenAPI's `/a/{id}/{wildcard}`. */
const openApiPath = (url: string): string => url.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '{wildcard}');

/**
 * The HTTP API as an OpenAPI 3.1 document, built from the routes fastify registered (`METHOD /url`,
 * as startServer collects them) and ROUTE_DOCS. Request bodies and the task config are the zod
 * schemas the server validates with, as JSON Schema.
 */
export function buildApiDocument(routes: readonly string[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const [method, url] = route.split(' ') as [string, string];
    if (method === 'HEAD' || method === 'OPTIONS') continue;
    const doc = ROUTE_DOCS[route];
    const access = requiredAccess(method, url);
    const parameters = [...url.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    (paths[openApiPath(url)] ??= {})[method.toLowerCase()] = {
      ...(doc ? { summary: doc.summary } : {}),
      description: `Needs ${ACCESS_WORDS[access]}.`,
      'x-chorus-access': access,
      ...(access === 'viewer' || access === 'operator' ? { security: [{ session: [] }, { bearer: [] }] } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(doc?.body ? { requestBody: { required: true, content: { 'application/json': { schema: optionsJsonSchema(doc.body) } } } } : {}),
      responses: { default: { description: 'JSON; errors are { code, message, retryable }.' } },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Chorus HTTP API', version: String(PROTOCOL_VERSION) },
    paths,
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
        bearer: { type: 'http', scheme: 'bearer', description: 'CHORUS_ADMIN_TOKEN or a session token (POST /api/admin/login with tokenInBody).' },
      },
      schemas: { TaskConfig: optionsJsonSchema(taskConfigSchema) as JsonSchema },
    },
  };
}

/** GET /api/docs (signed-in: not on the public list). `routes` is read at request time, so it lists routes registered after this one too. */
export function registerApiDocsRoute(app: FastifyInstance, routes: readonly string[]): void {
  let cached: Record<string, unknown> | null = null;
  app.get('/api/docs', async () => (cached ??= buildApiDocument(routes)));
}
