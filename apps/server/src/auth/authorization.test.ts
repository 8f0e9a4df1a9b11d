/**
 * Every registered HTTP route and every admin Socket.IO event, walked from the server itself: a
 * route added without thinking about access is refused to strangers (401) and, when it changes
 * something, to viewers (403). Only the documented public routes answer anonymous callers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as connect } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_CLIENT_EVENTS, PUBLIC_ROUTES, requiredAccess, startServer, type RunningServer } from '../index.js';

const ADMIN_TOKEN = 'authorization-test-admin-token-0123456789';
const METRICS_TOKEN = 'metrics-scrape-token-0123';
let dir: string;
let server: RunningServer;
let viewer: string;
let operatorCookie: string;

async function call(route: string, token?: string): Promise<number> {
  const [method, pattern] = route.split(' ') as [string, string];
  const url = pattern.replace(':id', 'auth-it').replace(':v', '0').replace(':round', '1').replace('*', 'x');
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const hasBody = method !== 'GET' && method !== 'HEAD';
  if (hasBody) headers['content-type'] = 'application/json';
  const res = await fetch(`${server.url}${url}`, { method, headers, body: hasBody ? '{}' : undefined });
  await res.arrayBuffer();
  return res.status;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chorus-authz-'));
  server = await startServer(
    { port: 0, host: '127.0.0.1', db: join(dir, 'a.sqlite'), dbSync: 'NORMAL', demoTask: false, logLevel: 'silent', adminToken: ADMIN_TOKEN, metricsToken: METRICS_TOKEN, adminPassword: 'operator-password-1', auditRefusalsPerMinute: 1_000_000 },
    { evaluate: null },
  );
  const created = await fetch(`${server.url}/api/tasks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ template: 'mnist-2nn', config: { id: 'auth-it', name: 'Auth' } }),
  });
  expect(created.status).toBe(201);
  await fetch(`${server.url}/api/admin/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'watcher', password: 'viewer-password-1', role: 'viewer' }),
  });
  const login = await fetch(`${server.url}/api/admin/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'watcher', password: 'viewer-password-1', tokenInBody: true }),
  });
  viewer = ((await login.json()) as { token: string }).token;
  const asAdmin = await fetch(`${server.url}/api/admin/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: 'operator-password-1' }),
  });
  operatorCookie = (asAdmin.headers.get('set-cookie') ?? '').split(';')[0]!;
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('authorization of every route', () => {
  it('refuses every non-public route without credentials (401) and every change by a viewer (403)', async () => {
    // Prepare
    const routes = [...new Set(server.routes)].filter((r) => !r.startsWith('OPTIONS '));
    expect(routes).toContain('POST /api/tasks/:id/start');
    expect(routes).toContain('GET /api/admin/audit');
    const wrong: string[] = [];

    // Execute
    for (const route of routes) {
      const [method, pattern] = route.split(' ') as [string, string];
      const access = requiredAccess(method, pattern);
      const anonymous = await call(route);
      if (access === 'public') {
        // (403 here is a domain answer, e.g. a wrong setup token; the guard's refusal is 401.)
        if (anonymous === 401) wrong.push(`${route}: public but answered 401`);
        continue;
      }
      if (anonymous !== 401) wrong.push(`${route}: anonymous got ${anonymous}, expected 401`);
      if (access === 'metrics') continue;
      const asViewer = await call(route, viewer);
      if (access === 'operator' && asViewer !== 403) wrong.push(`${route}: viewer got ${asViewer}, expected 403`);
      if (access === 'viewer' && (asViewer === 401 || asViewer === 403)) wrong.push(`${route}: viewer got ${asViewer}, expected access`);
    }

    // Assert
    expect(wrong).toEqual([]);
  });

  it('lists as public only what participants and sign-in need', () => {
    expect(Object.keys(PUBLIC_ROUTES).sort()).toEqual([
      'GET /api/admin/setup',
      'GET /api/embed/check',
      'GET /api/embed/frame-ancestors',
      'GET /api/tasks/:id/versions/:v/delta',
      'GET /api/tasks/:id/versions/:v/model.json',
      'GET /api/tasks/:id/versions/:v/weights',
      'GET /api/tasks/:id/versions/:v/weights.bin',
      'GET /healthz',
      'GET /partner-demo.html',
      'GET /readyz',
      'POST /api/admin/login',
      'POST /api/admin/logout',
      'POST /api/admin/setup',
    ]);
  });

  it('lets Prometheus scrape /metrics with its token only', async () => {
    const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('chorus_rounds_started_total');
    expect(await call('GET /metrics', 'not-the-token')).toBe(401);
  });

  it('records refused and allowed changes in the audit log', async () => {
    await call('POST /api/tasks/:id/pause');
    await call('POST /api/tasks/:id/pause', viewer);
    const res = await fetch(`${server.url}/api/admin/audit?limit=500`, { headers: { authorization: `Bearer ${viewer}` } });
    const { entries } = (await res.json()) as { entries: { actor: string; action: string; target: string | null; outcome: string }[] };
    const pauses = entries.filter((e) => e.action === 'task.pause').map((e) => [e.actor, e.target, e.outcome]);
    expect(pauses).toContainEqual(['anonymous', 'auth-it', 'unauthenticated']);
    expect(pauses).toContainEqual(['watcher', 'auth-it', 'forbidden']);
    expect(entries.filter((e) => e.action === 'task.create').at(-1)).toMatchObject({ actor: 'api-token', target: 'auth-it', outcome: 'ok' });
  });
});

describe('cross-site requests', () => {
  const UNSAFE = ['POST', 'PUT', 'PATCH', 'DELETE'];
  /** What a page on another site makes a browser send: no body, the victim's cookie, its own origin. */
  const crossSite = async (route: string, headers: Record<string, string>) => {
    const [method, pattern] = route.split(' ') as [string, string];
    const url = pattern.replace(':id', 'auth-it').replace(':v', '0').replace(':round', '1').replace('*', 'x');
    const res = await fetch(`${server.url}${url}`, { method, headers: { cookie: operatorCookie, ...headers } });
    const body = (await res.json().catch(() => ({}))) as { error?: { code: string } };
    return `${res.status} ${body.error?.code ?? ''}`.trim();
  };

  it('refuses every state-changing route from a foreign origin, even with an operator session cookie', async () => {
    // Prepare
    const routes = [...new Set(server.routes)].filter((r) => UNSAFE.includes(r.split(' ')[0]!));
    expect(routes).toContain('POST /api/tasks/:id/start');
    expect(routes).toContain('DELETE /api/partner-keys/:id');
    const foreign: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { origin: 'http://127.0.0.1:9' }, // another port on the same host
      { origin: 'http://chorus.localhost:3000' }, // a sibling name
      { origin: 'null' },
      { referer: 'https://evil.example/page.html' }, // no Origin: the Referer's origin counts
    ];
    const wrong: string[] = [];

    // Execute
    for (const route of routes) {
      for (const headers of foreign) {
        const got = await crossSite(route, headers);
        if (got !== '403 FORBIDDEN') wrong.push(`${route} from ${JSON.stringify(headers)}: ${got}`);
      }
    }

    // Assert
    expect(wrong).toEqual([]);
  });

  it('still lets the console origin, the server itself and header-less tools change things', async () => {
    const fromConsole = await crossSite('POST /api/tasks/:id/start', { origin: 'http://localhost:3000' });
    const sameOrigin = await crossSite('POST /api/tasks/:id/pause', { origin: server.url });
    const noOrigin = await crossSite('POST /api/tasks/:id/resume', {});
    const foreign = await crossSite('POST /api/tasks/:id/stop', { origin: 'https://evil.example' });
    expect([fromConsole, sameOrigin, noOrigin, foreign]).toEqual(['200', '200', '200', '403 FORBIDDEN']);
    expect(server.engine.summary('auth-it').status).toBe('running');
  });
});

describe('authorization of the admin Socket.IO feed', () => {
  const open = (auth: Record<string, string>, origin?: string) =>
    connect(`${server.url}/admin`, { transports: ['websocket'], forceNew: true, reconnection: false, auth, ...(origin ? { extraHeaders: { origin } } : {}) });

  it('refuses a handshake without a session', async () => {
    const socket = open({});
    const err = await new Promise<{ message: string; data?: { code: string } }>((ok) => socket.on('connect_error', ok));
    socket.close();
    expect(err.data?.code).toBe('UNAUTHORIZED');
  });

  it('refuses a handshake from an origin that is not allowed', async () => {
    const socket = open({ token: viewer }, 'https://evil.example');
    const err = await new Promise<{ data?: { code: string } }>((ok) => socket.on('connect_error', ok));
    socket.close();
    expect(err.data?.code).toBe('FORBIDDEN');
  });

  it('answers each admin event for a viewer by its access level, and nothing after the session is revoked', async () => {
    // Prepare
    const login = await fetch(`${server.url}/api/admin/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'watcher', password: 'viewer-password-1', tokenInBody: true }) });
    const token = ((await login.json()) as { token: string }).token;
    const socket = open({ token });
    await new Promise((ok) => socket.on('connect', () => ok(undefined)));

    // Execute
    const answers: Record<string, boolean> = {};
    for (const event of Object.keys(ADMIN_CLIENT_EVENTS)) {
      const ack = (await socket.timeout(5000).emitWithAck(event, { taskId: 'auth-it' })) as { ok: boolean; error?: { code: string } };
      answers[event] = ack.ok || ack.error?.code !== 'FORBIDDEN';
    }
    await fetch(`${server.url}/api/admin/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    const after = (await socket.timeout(5000).emitWithAck('subscribe', { taskId: 'auth-it' })) as { ok: boolean; error?: { code: string } };
    socket.close();

    // Assert
    expect(answers).toEqual(Object.fromEntries(Object.entries(ADMIN_CLIENT_EVENTS).map(([e, access]) => [e, access !== 'operator'])));
    expect(after).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
  });
});
