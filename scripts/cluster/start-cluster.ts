/**
 * Several Chorus server processes (apps/server/src/main.ts, as `npm start` runs it) on one
 * PostgreSQL schema and one Redis prefix, behind Debian's nginx as the single front. Used by
 * `npm run cluster`, the cluster test, e2e/cluster.e2e.ts and `npm run bench -- scale`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { NGINX_TEMP_DIRS, nginxFrontConfig } from './nginx-config.js';

const REPO_ROOT = resolve(import.meta.dirname, '../..');

/** What the cluster runs on when neither options nor CHORUS_* variables say otherwise (the project's machines, DESIGN.md). */
export const CLUSTER_DEFAULTS = {
  db: 'postgres://postgres@127.0.0.1:5432/test',
  dbSchema: 'chorus',
  redis: 'redis://127.0.0.1:6379',
  redisPrefix: 'chorus',
} as const;

export interface ClusterOptions {
  /** Server processes behind the front (1–32). */
  readonly processes: number;
  /**
   * The front's port; the processes take the next ones (port+1 … port+N), and their health ports
   * (load-balancer probes, answered off the main thread) the N after that. 0: free ports for all. @default 0
   */
  readonly port?: number;
  /** The front's interface. @default '127.0.0.1' */
  readonly host?: string;
  /** PostgreSQL URL. @default CHORUS_DB, else CLUSTER_DEFAULTS.db */
  readonly db?: string;
  /** @default CHORUS_DB_SCHEMA, else 'chorus' */
  readonly dbSchema?: string;
  /** @default CHORUS_REDIS, else CLUSTER_DEFAULTS.redis */
  readonly redis?: string;
  /** @default CHORUS_REDIS_PREFIX, else 'chorus' */
  readonly redisPrefix?: string;
  /** More environment for every process (over this process's own). */
  readonly env?: NodeJS.ProcessEnv;
  /** More server flags for every process (e.g. ['--no-demo-task', '--log-level', 'warn']). */
  readonly args?: readonly string[];
  /** Node's own flags for every process (e.g. ['--cpu-prof', '--cpu-prof-dir=DIR'], which NODE_OPTIONS refuses). */
  readonly nodeFlags?: readonly string[];
  /** Connections the front must hold (sizes nginx's worker_connections). @default 20_000 */
  readonly maxConnections?: number;
  /** Every output line of a process (`p1`, `p2`, …) or of `nginx`; by default only the last 64 KB of each is kept. */
  readonly onOutput?: (name: string, line: string) => void;
  /** A process or nginx exited without being asked to (a crash, or kill -9 from outside). */
  readonly onUnexpectedExit?: (name: string, how: string) => void;
  /** How long a process may take to answer /readyz. @default 90_000 */
  readonly readyTimeoutMs?: number;
}

export interface ClusterProcess {
  /** `p1` … `pN`. */
  readonly name: string;
  readonly port: number;
  /** Its own address, bypassing the front (metrics, probes). */
  readonly url: string;
  /** Its health port: /healthz and /readyz answered off the main thread (what a load balancer probes). */
  readonly healthUrl: string;
  /** The current OS process id (changes on restart); null while it is not running. */
  readonly pid: number | null;
}

export interface RunningCluster {
  /** The front: what browsers and clients use. */
  readonly url: string;
  readonly processes: readonly ClusterProcess[];
  readonly db: string;
  readonly dbSchema: string;
  readonly redis: string;
  readonly redisPrefix: string;
  /** The generated nginx.conf. */
  readonly nginxConfigPath: string;
  /** Signals process `i` (0-based; SIGKILL by default, as a crash) and waits until it is gone. */
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts process `i` again on its port and waits for its /readyz. */
  restart(i: number): Promise<void>;
  /** Stops nginx and every process (SIGTERM, SIGKILL after 10 s) and removes the temporary folder. */
  stop(): Promise<void>;
  /** Last output of a process (`p1`…) or `nginx`, for failure messages. */
  output(name: string): string;
}

/** The nginx binary: scripts/ensure-nginx.sh finds it or installs Debian's nginx-light (root on Debian/Ubuntu). */
export function ensureNginx(): string {
  try {
    return execFileSync('bash', [join(REPO_ROOT, 'scripts/ensure-nginx.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 }).trim();
  } catch {
    throw new Error('nginx is needed for the cluster front and could not be found or installed (Debian: apt-get install -y nginx-light)');
  }
}

/** The hard limit on open files that children of this process get (nginx cannot go above it unprivileged). */
function hardFileLimit(): number {
  try {
    const raw = execFileSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
    return raw === 'unlimited' ? 1_048_576 : Number(raw) || 65_536;
  } catch {
    return 65_536;
  }
}

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer().on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => ok(port));
    });
  });
}

async function waitReady(url: string, timeoutMs: number, alive: () => string | null): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < until) {
    const gone = alive();
    if (gone) throw new Error(`${gone} before ${url} answered`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      last = `HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms (${last})`);
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `exited with code ${code}`;
}

/** SIGKILL to a process group (nginx's master and workers); nothing when it is already gone. */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: the group is gone already.
  }
}

interface Managed {
  child: ChildProcess | null;
  /** Exits we asked for are not reported. */
  expected: boolean;
  out: string;
  /** How the last run ended ('exited with code 1'), for start-up errors. */
  lastExit: string | null;
}

export async function startCluster(options: ClusterOptions): Promise<RunningCluster> {
  const n = options.processes;
  if (!Number.isInteger(n) || n < 1 || n > 32) throw new Error(`processes: expected an integer 1–32, got ${n}`);
  const env = process.env;
  const db = options.db ?? env.CHORUS_DB ?? CLUSTER_DEFAULTS.db;
  if (!/^postgres(ql)?:\/\//.test(db)) throw new Error(`db: several processes need PostgreSQL (a postgres:// URL), got "${db}"`);
  const dbSchema = options.dbSchema ?? env.CHORUS_DB_SCHEMA ?? CLUSTER_DEFAULTS.dbSchema;
  const redis = options.redis ?? env.CHORUS_REDIS ?? CLUSTER_DEFAULTS.redis;
  const redisPrefix = options.redisPrefix ?? env.CHORUS_REDIS_PREFIX ?? CLUSTER_DEFAULTS.redisPrefix;
  const host = options.host ?? '127.0.0.1';
  const frontPort = options.port || (await freePort());
  const ports: number[] = [];
  for (let i = 0; i < n; i++) ports.push(options.port ? options.port + 1 + i : await freePort());
  const healthPorts: number[] = [];
  for (let i = 0; i < n; i++) healthPorts.push(options.port ? options.port + 1 + n + i : await freePort());
  const readyTimeoutMs = options.readyTimeoutMs ?? 90_000;
  const nginxBin = ensureNginx();
  const dir = mkdtempSync(join(tmpdir(), 'chorus-cluster-'));
  for (const d of NGINX_TEMP_DIRS) mkdirSync(join(dir, d), { recursive: true });

  const managed = new Map<string, Managed>();
  let stopping = false;
  // Before the cluster is up, a failed start is the error startCluster throws, not a crash to report.
  let started = false;
  // If the owner exits without stop() (an uncaught error, process.exit), take the children with it.
  const orphanGuard = () => {
    for (const m of managed.values()) if (m.child && m.child.exitCode === null) m.child.kill('SIGKILL');
    killGroup(managed.get('nginx')?.child?.pid);
  };
  process.once('exit', orphanGuard);

  const track = (name: string, child: ChildProcess): void => {
    const m = managed.get(name) ?? { child: null, expected: false, out: '', lastExit: null };
    m.child = child;
    m.expected = false;
    managed.set(name, m);
    let partial = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      m.out = (m.out + text).slice(-65_536);
      if (!options.onOutput) return;
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      for (const line of lines) options.onOutput(name, line);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      if (m.child === child) m.child = null;
      m.lastExit = describeExit(code, signal);
      if (!m.expected && !stopping && started) options.onUnexpectedExit?.(name, describeExit(code, signal));
    });
  };

  const gone = (name: string) => () => {
    const m = managed.get(name);
    const c = m?.child;
    return c && c.exitCode === null && c.signalCode === null ? null : `${name} ${m?.lastExit ?? 'is not running'}`;
  };

  const launch = async (i: number): Promise<void> => {
    const name = `p${i + 1}`;
    const args = [
      ...(options.nodeFlags ?? []), '--import', 'tsx', join(REPO_ROOT, 'apps/server/src/main.ts'),
      '--port', String(ports[i]), '--host', '127.0.0.1', '--health-port', String(healthPorts[i]),
      '--db', db, '--db-schema', dbSchema, '--redis', redis, '--redis-prefix', redisPrefix,
      // nginx on this machine is the only peer whose X-Forwarded-For counts: rate limits see the visitor.
      '--trust-proxy', 'loopback',
      ...(options.args ?? []),
    ];
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    track(name, child);
    try {
      await waitReady(`http://127.0.0.1:${ports[i]}/readyz`, readyTimeoutMs, gone(name));
    } catch (err) {
      throw new Error(`${name} (port ${ports[i]}) did not start: ${(err as Error).message}\n${managed.get(name)?.out.slice(-4000) ?? ''}`);
    }
  };

  const signal = async (name: string, sig: NodeJS.Signals): Promise<void> => {
    const m = managed.get(name);
    const child = m?.child;
    if (!m || !child || child.exitCode !== null || child.signalCode !== null) return;
    m.expected = true;
    await new Promise<void>((done) => {
      const timer = sig === 'SIGKILL' ? null : setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        if (timer) clearTimeout(timer);
        done();
      });
      child.kill(sig);
    });
  };

  const stop = async (): Promise<void> => {
    stopping = true;
    await signal('nginx', 'SIGQUIT');
    await Promise.all(ports.map((_, i) => signal(`p${i + 1}`, 'SIGTERM')));
    process.off('exit', orphanGuard);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    // The first process alone: it migrates the schema and creates the demo task when the database
    // is empty; the others then start together on a ready database.
    await launch(0);
    await Promise.all(ports.slice(1).map((_, i) => launch(i + 1)));

    const nginxConfigPath = join(dir, 'nginx.conf');
    const config = nginxFrontConfig({ listenHost: host, listenPort: frontPort, upstreamPorts: ports, dir, maxConnections: options.maxConnections, asRoot: process.getuid?.() === 0, fileLimit: hardFileLimit() });
    writeFileSync(nginxConfigPath, config);
    // -e stderr: nginx would otherwise first open its compiled-in /var/log/nginx/error.log (root only).
    // A process group of its own: nginx's workers outlive a master killed with SIGKILL and keep the
    // port, so when the master dies unexpectedly (or we exit abruptly) the whole group goes.
    const nginx = spawn(nginxBin, ['-p', dir, '-e', 'stderr', '-c', nginxConfigPath], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    track('nginx', nginx);
    nginx.once('exit', () => killGroup(nginx.pid));
    const frontUrl = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${frontPort}`;
    try {
      await waitReady(`${frontUrl}/readyz`, 15_000, gone('nginx'));
    } catch (err) {
      throw new Error(`nginx did not start: ${(err as Error).message}\n${managed.get('nginx')?.out ?? ''}`);
    }

    started = true;
    return {
      url: frontUrl,
      get processes() {
        return ports.map((port, i) => {
          const child = managed.get(`p${i + 1}`)?.child;
          return { name: `p${i + 1}`, port, url: `http://127.0.0.1:${port}`, healthUrl: `http://127.0.0.1:${healthPorts[i]}`, pid: child?.pid ?? null };
        });
      },
      db,
      dbSchema,
      redis,
      redisPrefix,
      nginxConfigPath,
      kill: (i, sig = 'SIGKILL') => signal(`p${i + 1}`, sig),
      async restart(i) {
        await signal(`p${i + 1}`, 'SIGTERM');
        await launch(i);
      },
      stop,
      output: (name) => managed.get(name)?.out ?? '',
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
