/**
 * `npm run cluster -- --processes 3 [--port 8080]`: N Chorus server processes on one PostgreSQL
 * database and one Redis, behind nginx as the single front (scripts/cluster/start-cluster.ts).
 * The front listens on --port, the processes on the next ports. Other flags after `--` go to every
 * server process (e.g. `--no-demo-task`). Database and Redis come from --db/--db-schema/--redis/
 * --redis-prefix or CHORUS_DB, CHORUS_DB_SCHEMA, CHORUS_REDIS, CHORUS_REDIS_PREFIX (defaults: the
 * local PostgreSQL database `test`, schema `chorus`, the local Redis, prefix `chorus`).
 *
 * Ctrl-C stops everything. A process that dies is reported and the others go on (that is the point
 * of several); if nginx dies there is no front any more, so everything stops.
 */
import { CLUSTER_DEFAULTS, startCluster, type RunningCluster } from './cluster/start-cluster.js';

const USAGE = 'usage: npm run cluster -- --processes N [--port 8080] [--host 127.0.0.1] [--db URL] [--db-schema NAME] [--redis URL] [--redis-prefix P] [server flags…]';

function parse(argv: readonly string[]) {
  const o = { processes: 3, port: Number(process.env.CHORUS_PORT ?? 8080), host: '127.0.0.1' } as {
    processes: number; port: number; host: string; db?: string; dbSchema?: string; redis?: string; redisPrefix?: string; args: string[];
  };
  o.args = [];
  const strings: Record<string, 'host' | 'db' | 'dbSchema' | 'redis' | 'redisPrefix'> = { '--host': 'host', '--db': 'db', '--db-schema': 'dbSchema', '--redis': 'redis', '--redis-prefix': 'redisPrefix' };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.includes('=') ? (argv[i]!.split(/=(.*)/s, 2) as [string, string]) : [argv[i]!, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag}: expected a value\n${USAGE}`);
      return v;
    };
    if (flag === '--help' || flag === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (flag === '--processes' || flag === '--port') {
      const raw = value();
      const n = Number(raw);
      const [min, max] = flag === '--processes' ? [1, 32] : [1, 65535 - 33];
      if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag}: expected an integer ${min}–${max}, got "${raw}"`);
      if (flag === '--processes') o.processes = n;
      else o.port = n;
    } else if (strings[flag]) o[strings[flag]] = value();
    else o.args.push(argv[i]!);
  }
  return o;
}

let options: ReturnType<typeof parse>;
try {
  options = parse(process.argv.slice(2));
} catch (err) {
  console.error(`cluster: ${(err as Error).message}`);
  process.exit(2);
}

let cluster: RunningCluster | null = null;
let stopping = false;
async function stopAll(code: number): Promise<never> {
  if (stopping) process.exit(1); // a second Ctrl-C: now
  stopping = true;
  console.log('cluster: stopping nginx and every process…');
  await cluster?.stop().catch((err: unknown) => console.error(`cluster: stopping failed: ${String(err)}`));
  process.exit(code);
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => void stopAll(0));

console.log(`cluster: starting ${options.processes} server process(es) on ${options.db ?? process.env.CHORUS_DB ?? CLUSTER_DEFAULTS.db} and ${options.redis ?? process.env.CHORUS_REDIS ?? CLUSTER_DEFAULTS.redis}, then nginx on port ${options.port}…`);
try {
  cluster = await startCluster({
    processes: options.processes,
    port: options.port,
    host: options.host,
    ...(options.db ? { db: options.db } : {}),
    ...(options.dbSchema ? { dbSchema: options.dbSchema } : {}),
    ...(options.redis ? { redis: options.redis } : {}),
    ...(options.redisPrefix ? { redisPrefix: options.redisPrefix } : {}),
    args: options.args,
    onOutput: (name, line) => console.log(`[${name}] ${line}`),
    onUnexpectedExit: (name, how) => {
      console.error(`cluster: ${name} ${how}`);
      if (name === 'nginx') void stopAll(1);
      else console.error(`cluster: the other processes go on; the front stops sending to ${name}`);
    },
  });
} catch (err) {
  console.error(`cluster: ${(err as Error).message}`);
  process.exit(1);
}

console.log(`cluster: ready
  front (browsers, clients):  ${cluster.url}
${cluster.processes.map((p) => `  ${p.name}: ${p.url}  pid ${p.pid}  (load-balancer probes: ${p.healthUrl}/healthz)`).join('\n')}
  database: ${cluster.db.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')} schema ${cluster.dbSchema}; Redis ${cluster.redis} prefix ${cluster.redisPrefix}
  nginx configuration: ${cluster.nginxConfigPath}
  web app against the front: npm run build -w @chorus/web && CHORUS_SERVER_URL=${cluster.url} npm run start -w @chorus/web
Ctrl-C stops everything.`);
