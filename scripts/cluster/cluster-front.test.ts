import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropClusterState, uniqueClusterState } from './cluster-state.js';
import { metricSum, scrape } from './metrics-text.js';
import { ensureNginx, startCluster, type RunningCluster } from './start-cluster.js';

/**
 * Three real server processes (apps/server/src/main.ts) on one PostgreSQL schema and one Redis
 * prefix behind nginx, as `npm run cluster -- --processes 3` starts them: what a browser sees
 * through the front. (PostgreSQL and Redis: scripts/ensure-services.sh; nginx: ensure-nginx.sh.)
 */
const nginx = (() => {
  try {
    return ensureNginx();
  } catch (err) {
    // Off Debian/Ubuntu-as-root with no nginx: skipped, and the reason printed (CI installs it).
    console.warn(`cluster front test skipped: ${(err as Error).message}`);
    return null;
  }
})();
const TOKEN = 'cluster-front-test-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };
let cluster: RunningCluster;
const state = uniqueClusterState('front');
const sockets: Socket[] = [];

beforeAll(async () => {
  if (!nginx) return;
  cluster = await startCluster({
    processes: 3,
    ...state,
    args: ['--no-demo-task', '--no-evaluate', '--log-level', 'warn'],
    env: { CHORUS_ADMIN_TOKEN: TOKEN },
  });
}, 240_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  await cluster?.stop();
  if (cluster) await dropClusterState(cluster);
}, 60_000);

async function open(url: string, options: Parameters<typeof connect>[1] = {}): Promise<Socket> {
  const socket = connect(url, { transports: ['websocket'], reconnection: false, ...options });
  sockets.push(socket);
  await new Promise<void>((ok, fail) => {
    socket.once('connect', ok);
    socket.once('connect_error', fail);
  });
  return socket;
}

/** Sockets each process holds in `namespace`, in process order. */
async function socketsPerProcess(namespace: string): Promise<number[]> {
  return Promise.all(cluster.processes.map(async (p) => metricSum(await scrape(p.url), 'chorus_sockets_connected', { namespace })));
}

describe.skipIf(!nginx)('three server processes behind nginx', () => {
  it('answers /healthz and /readyz through the front', async () => {
    const health = await fetch(`${cluster.url}/healthz`);
    const ready = await fetch(`${cluster.url}/readyz`);

    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('spreads WebSocket connections over the processes, and a broadcast from one reaches consoles on all three', async () => {
    // Three consoles and three participants, one after another through the front (least_conn).
    const consoles: Socket[] = [];
    for (let i = 0; i < 3; i++) consoles.push(await open(`${cluster.url}/admin`, { auth: { token: TOKEN } }));
    for (let i = 0; i < 3; i++) await open(cluster.url);
    const created = consoles.map((c) => new Promise<{ taskId: string }>((ok) => c.once('task:created', ok)));

    // Execute: one process (whichever the front picks) creates a task; its admin event is a broadcast.
    const res = await fetch(`${cluster.url}/api/tasks`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' },
      body: JSON.stringify({
        template: 'mnist-2nn',
        start: false,
        config: {
          id: 'front-task',
          name: 'front test',
          data: { kind: 'image', inputShape: [28, 28, 1], numClasses: 10, dataset: 'mnist' },
          rounds: { targetClients: 3, minClients: 2, deadlineMs: 30_000 },
          strategy: { id: 'fedavg', options: {} },
        },
      }),
    });

    // Assert: one console and one participant on each process, and every console heard of the task.
    expect(res.status).toBe(201);
    expect(await socketsPerProcess('/admin')).toEqual([1, 1, 1]);
    expect(await socketsPerProcess('/')).toEqual([1, 1, 1]);
    const events = await Promise.all(created.map((p) => Promise.race([p, new Promise((_, fail) => setTimeout(() => fail(new Error('no task:created within 10 s')), 10_000))])));
    expect(events.map((e) => (e as { taskId: string }).taskId)).toEqual(['front-task', 'front-task', 'front-task']);
  });

  it('passes the visitor’s address on: the audit log records X-Forwarded-For, not nginx', async () => {
    // The task creation above came "from" 203.0.113.9 through the front (any process may read the shared log).
    const res = await fetch(`${cluster.url}/api/admin/audit?limit=20`, { headers: AUTH });
    const { entries } = (await res.json()) as { entries: { action: string; ip: string | null; target: string | null }[] };

    expect(entries.find((e) => e.target === 'front-task')?.ip).toBe('203.0.113.9');
  });

  it('logs one setup token for the whole cluster, and it works through the front', async () => {
    // No CHORUS_ADMIN_PASSWORD: the first process issues the token, the others started right after keep it.
    const tokens = cluster.processes.flatMap((p) => [...cluster.output(p.name).matchAll(/"setupToken":"([\w-]+)"/g)].map((m) => m[1]!));

    const res = await fetch(`${cluster.url}/api/admin/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ setupToken: tokens[0], username: 'ada', password: 'correct horse battery' }),
    });

    expect(tokens).toHaveLength(1);
    expect(res.status).toBe(201);
  });

  it('keeps serving through the front when a process is killed (kill -9)', async () => {
    await cluster.kill(1);

    const answers = await Promise.all(Array.from({ length: 6 }, () => fetch(`${cluster.url}/healthz`).then((r) => r.status)));

    expect(answers).toEqual([200, 200, 200, 200, 200, 200]);
    expect(cluster.processes[1]!.pid).toBeNull();
  });
});
