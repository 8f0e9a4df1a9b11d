/**
 * The OpenAPI document at /api/docs and the strategy catalog at /api/strategies, against a real
 * server: every admin route and every state-changing route fastify registered is documented.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../index.js';

const ADMIN_TOKEN = 'api-docs-test-admin-token-0123456789';
let server: RunningServer;
let viewer: string;

const get = (path: string, token?: string) => fetch(`${server.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

beforeAll(async () => {
  server = await startServer({ port: 0, host: '127.0.0.1', db: ':memory:', demoTask: false, logLevel: 'silent', adminToken: ADMIN_TOKEN }, { evaluate: null });
  await fetch(`${server.url}/api/admin/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'reader', password: 'viewer-password-1', role: 'viewer' }),
  });
  const login = await fetch(`${server.url}/api/admin/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'reader', password: 'viewer-password-1', tokenInBody: true }),
  });
  viewer = ((await login.json()) as { token: string }).token;
});

afterAll(async () => {
  await server?.close();
});

describe('GET /api/docs', () => {
  it('refuses anonymous callers', async () => {
    const res = await get('/api/docs');
    expect(res.status).toBe(401);
  });

  it('documents every admin route and every state-changing route, with a summary', async () => {
    const res = await get('/api/docs', viewer);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, { summary?: string; 'x-chorus-access': string }>> };
    expect(doc.openapi).toBe('3.1.0');

    const mustDocument = server.routes.filter((r) => {
      const [method, url] = r.split(' ') as [string, string];
      // fastify adds a HEAD route for every GET by itself: the GET is what is documented.
      if (method === 'HEAD' || method === 'OPTIONS') return false;
      return url.startsWith('/api/admin') || (url.startsWith('/api/') && method !== 'GET');
    });
    expect(mustDocument).toContain('POST /api/tasks');
    expect(mustDocument).toContain('POST /api/admin/tasks/upload');
    const missing = mustDocument.filter((r) => {
      const [method, url] = r.split(' ') as [string, string];
      const op = doc.paths[url.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()];
      return !op?.summary;
    });
    expect(missing).toEqual([]);
  });

  it('describes request bodies with the schemas the server validates with', async () => {
    const doc = (await (await get('/api/docs', viewer)).json()) as { paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown>; required?: string[] } }> }; 'x-chorus-access': string }>> };
    const create = doc.paths['/api/tasks']!.post!;
    expect(create['x-chorus-access']).toBe('operator');
    const body = create.requestBody!.content['application/json']!.schema;
    expect(Object.keys(body.properties)).toEqual(['template', 'config', 'seed', 'start']);
    expect(body.required).toEqual(['template', 'config']);
    expect(doc.paths['/api/tasks/{id}/start']!.post!['x-chorus-access']).toBe('operator');
  });
});

describe('GET /api/strategies', () => {
  it('refuses anonymous callers and serves each strategy and aggregator with its options as JSON Schema', async () => {
    expect((await get('/api/strategies')).status).toBe(401);
    const res = await get('/api/strategies', viewer);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      strategies: { id: string; optionsSchema: { properties: Record<string, { default?: unknown; title?: string }> } }[];
      aggregators: { id: string; streaming: boolean; optionsSchema: { properties: Record<string, unknown> } }[];
      codecs: { id: string; description: string }[];
    };
    expect(body.strategies.map((s) => s.id)).toEqual(['fedavg', 'fedavgm', 'fedadagrad', 'fedadam', 'fedyogi', 'fedprox']);
    const fedadam = body.strategies.find((s) => s.id === 'fedadam')!.optionsSchema.properties;
    expect(fedadam.eta).toMatchObject({ default: 0.1, title: 'Server learning rate η', exclusiveMinimum: 0, maximum: 100 });
    expect(fedadam.beta2).toMatchObject({ default: 0.99 });
    expect(fedadam.aggregator).toMatchObject({ default: 'mean', group: 'aggregation' });
    expect(body.aggregators.map((a) => a.id)).toEqual(['mean', 'median', 'trimmed-mean', 'krum', 'multi-krum', 'bulyan']);
    expect(Object.keys(body.aggregators.find((a) => a.id === 'multi-krum')!.optionsSchema.properties)).toEqual(['krumF', 'krumM', 'krumWeighted']);
    expect(body.codecs.map((c) => c.id)).toEqual(['float32', 'float16', 'int8', 'topk', 'topk-q4', 'hadamard1', 'hadamard2', 'hadamard4', 'hadamard1s', 'hadamard2s']);
  });
});
