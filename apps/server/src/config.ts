import { Command } from 'commander';
import { z } from 'zod';
import proxyAddr from '@fastify/proxy-addr';
import { ChorusError, describeZodError } from '@chorus/core';
import { redisUrlValid } from './cluster/redis-connection.js';
import { checkPostgresUrl, isPostgresUrl, PG_SCHEMA_PATTERN, redact } from './storage/postgres-url.js';
import { DEFAULT_LEASE_MS } from './cluster/task-lease.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

type Kind = 'int' | 'bool' | 'list' | 'string' | 'secret';

/** How an option is read from the environment and the command line. */
interface OptionSource {
  readonly env: string;
  /** commander syntax; none for options set only by env (secrets: flags show up in `ps`). */
  readonly flag?: string;
  readonly kind: Kind;
  /** One line for --help. */
  readonly help: string;
}

const sources = z.registry<OptionSource>();
/** An option: its zod schema (type, default, validation, messages) with where it is read from. */
function option<S extends z.ZodType>(schema: S, source: OptionSource): S {
  sources.add(schema as z.ZodType, source);
  return schema;
}

const int = (min: number, max: number) =>
  z.number({ error: `expected an integer ${min}–${max}` }).int(`expected an integer ${min}–${max}`).min(min, `expected an integer ${min}–${max}`).max(max, `expected an integer ${min}–${max}`);
const bool = () => z.boolean({ error: 'expected true or false' });

function postgresUrlValid(url: string): boolean {
  try {
    checkPostgresUrl(url);
    return true;
  } catch {
    return false;
  }
}

const PROXY_LIST = 'expected a list of proxy addresses, CIDR ranges, loopback, linklocal or uniquelocal';

/** proxy-addr's own parser decides what a valid entry is, so what passes here also works there. */
function proxyListValid(list: string[]): boolean {
  try {
    proxyAddr.compile(list);
    return true;
  } catch {
    return false;
  }
}

/**
 * Server options, merged over documented defaults (socket.io style). Sources, weakest first:
 * defaults → environment variables (CHORUS_*) → command-line flags. Every value is validated at
 * start-up and a bad one stops the server with a message naming the option and where it came from.
 * Each option is declared once, here: its type, default, validation, env var and flag.
 */
export const serverConfigSchema = z
  .strictObject({
    /** TCP port for HTTP and Socket.IO; 0 picks a free port. */
    port: option(int(0, 65535).default(8080), { env: 'CHORUS_PORT', flag: '--port <port>', kind: 'int', help: 'TCP port (0 = any free port)' }),
    /**
     * A second port that answers only /healthz and /readyz, from its own thread: a load balancer's
     * probe gets its answer while the main event loop is busy with thousands of sockets, and the
     * answer is about that loop (503 once it has not turned for healthStallMs). Off when unset.
     */
    healthPort: option(int(0, 65535).optional(), { env: 'CHORUS_HEALTH_PORT', flag: '--health-port <port>', kind: 'int', help: 'port for /healthz and /readyz answered off the main thread (0 = any free port)' }),
    /** How long the main event loop may go without a turn before the health port answers 503. */
    healthStallMs: option(int(500, 600_000).default(5_000), { env: 'CHORUS_HEALTH_STALL_MS', flag: '--health-stall-ms <ms>', kind: 'int', help: 'event-loop stall after which the health port reports unhealthy' }),
    /** Interface to listen on. */
    host: option(z.string().min(1, 'expected a host name or address').default('0.0.0.0'), { env: 'CHORUS_HOST', flag: '--host <host>', kind: 'string', help: 'interface to listen on' }),
    /** SQLite database file (':memory:' for a throw-away one), or a postgres://user@host:5432/database URL for PostgreSQL (several server processes share one). */
    db: option(
      z
        .string()
        .min(1, 'expected a file path, ":memory:" or a postgres:// URL')
        .refine((v) => !isPostgresUrl(v) || postgresUrlValid(v), 'expected a file path, ":memory:" or a postgres://user@host:5432/database URL')
        .default('./data/chorus.sqlite'),
      { env: 'CHORUS_DB', flag: '--db <path-or-url>', kind: 'string', help: 'SQLite database file or postgres:// URL' },
    ),
    /** PostgreSQL schema holding Chorus's tables (created when missing). Ignored for SQLite. */
    dbSchema: option(z.string().regex(PG_SCHEMA_PATTERN, 'expected a lower-case schema name (letters, digits, _)').default('public'), {
      env: 'CHORUS_DB_SCHEMA',
      flag: '--db-schema <name>',
      kind: 'string',
      help: 'PostgreSQL schema',
    }),
    /**
     * Redis for several server processes (redis://host:6379): Socket.IO broadcasts reach sockets on
     * every process, and task leases with fencing tokens live there. Unset: one process, no Redis.
     */
    redis: option(z.string().refine(redisUrlValid, 'expected a redis://host:6379 URL').optional(), { env: 'CHORUS_REDIS', flag: '--redis <url>', kind: 'string', help: 'Redis URL (several server processes)' }),
    /** Prefix of every Redis key and stream this deployment uses (deployments or test runs sharing a Redis stay apart). */
    redisPrefix: option(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected 1–64 letters, digits, dots, dashes or underscores').default('chorus'), {
      env: 'CHORUS_REDIS_PREFIX',
      flag: '--redis-prefix <prefix>',
      kind: 'string',
      help: 'Redis key prefix',
    }),
    /**
     * With Redis: a task's lease time. When its coordinator dies, another process takes the task over
     * within this long (and restarts the round in flight). Renewed every third of it.
     */
    leaseMs: option(int(300, 600_000).default(DEFAULT_LEASE_MS), { env: 'CHORUS_LEASE_MS', flag: '--lease-ms <ms>', kind: 'int', help: 'task lease time with Redis (failover within it)' }),
    /** Model versions kept per task: the newest N (0 keeps every version)… */
    keepVersions: option(int(0, 1_000_000).default(100), { env: 'CHORUS_KEEP_VERSIONS', flag: '--keep-versions <n>', kind: 'int', help: 'newest model versions kept per task (0 = all)' }),
    /** …plus every k-th version (0: none). A version an open round was started from is always kept. */
    keepEveryVersion: option(int(0, 1_000_000).default(100), { env: 'CHORUS_KEEP_EVERY_VERSION', flag: '--keep-every-version <k>', kind: 'int', help: 'also keep every k-th model version (0 = none)' }),
    /** SQLite `synchronous` for checkpoints (new versions) under WAL: FULL also survives power loss, NORMAL only process crashes. Other writes never fsync. */
    dbSync: option(z.enum(['NORMAL', 'FULL'], { error: 'expected NORMAL or FULL' }).default('FULL'), {
      env: 'CHORUS_DB_SYNC',
      flag: '--db-sync <mode>',
      kind: 'string',
      help: 'SQLite synchronous mode: NORMAL or FULL',
    }),
    /** pino log level. */
    logLevel: option(z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }).default('info'), { env: 'CHORUS_LOG_LEVEL', flag: '--log-level <level>', kind: 'string', help: 'log level' }),
    /** Create and start the `mnist-demo` task when the database holds no task. */
    demoTask: option(bool().default(true), { env: 'CHORUS_DEMO_TASK', flag: '--no-demo-task', kind: 'bool', help: 'do not create the mnist-demo task' }),
    /** Origins allowed to call the HTTP API and Socket.IO from a browser ('*' = any); comma-separated in env and flag. */
    corsOrigins: option(z.array(z.string().min(1), { error: 'expected a list of origins' }).default(() => ['http://localhost:3000', 'http://127.0.0.1:3000']), {
      env: 'CHORUS_CORS_ORIGINS',
      flag: '--cors-origins <list>',
      kind: 'list',
      help: 'comma-separated allowed origins',
    }),
    /** Evaluate each new version of MNIST tasks centrally on held-out digits. */
    evaluate: option(bool().default(true), { env: 'CHORUS_EVALUATE', flag: '--no-evaluate', kind: 'bool', help: 'skip central evaluation' }),
    /** Held-out examples used by central evaluation. */
    evalExamples: option(int(1, 10_000).default(2000), { env: 'CHORUS_EVAL_EXAMPLES', kind: 'int', help: 'held-out examples for central evaluation' }),
    /**
     * Largest update chunk a client may send, in bytes. Socket.IO's `maxHttpBufferSize` is set just
     * above it, because Socket.IO silently drops an over-size message together with the connection.
     */
    maxChunkBytes: option(int(1024, 16 * 1024 * 1024).default(262_144), { env: 'CHORUS_MAX_CHUNK_BYTES', flag: '--max-chunk-bytes <bytes>', kind: 'int', help: 'largest upload chunk' }),
    /** Memory all update uploads in progress may hold together; beyond it begins wait, then are refused UNAVAILABLE (retryable). */
    uploadBudgetBytes: option(int(1024 * 1024, 64 * 1024 * 1024 * 1024).default(256 * 1024 * 1024), { env: 'CHORUS_UPLOAD_BUDGET_BYTES', kind: 'int', help: 'bytes of uploads in progress held at once' }),
    /** Pause before retrying an abandoned round, in ms. */
    roundRetryDelayMs: option(int(0, 3_600_000).default(2000), { env: 'CHORUS_ROUND_RETRY_MS', kind: 'int', help: 'pause before retrying an abandoned round' }),
    /**
     * Watchdog: a round still closing (aggregation, checkpoint, central evaluation) after this many ms
     * is abandoned and the task moves on to its next round.
     */
    closeTimeoutMs: option(int(1000, 86_400_000).default(120_000), { env: 'CHORUS_CLOSE_TIMEOUT_MS', kind: 'int', help: 'watchdog for a round that is still closing' }),
    /** Signs admin sessions and participant tokens (≥ 32 characters). Generated once and kept in the database when unset. */
    secret: option(z.string({ error: 'expected at least 32 characters' }).min(32, 'expected at least 32 characters').optional(), { env: 'CHORUS_SECRET', kind: 'secret', help: 'signing secret' }),
    /** First run only: creates the operator account `admin` with this password (≥ 10 characters). Without it a one-time setup token is logged. */
    adminPassword: option(z.string({ error: 'expected at least 10 characters' }).min(10, 'expected at least 10 characters').max(1024, 'expected at most 1024 characters').optional(), {
      env: 'CHORUS_ADMIN_PASSWORD',
      kind: 'secret',
      help: 'first-run admin password',
    }),
    /** A static `Authorization: Bearer` token with operator rights, for tools and CI (≥ 24 characters). @default none */
    adminToken: option(z.string({ error: 'expected at least 24 characters' }).min(24, 'expected at least 24 characters').optional(), { env: 'CHORUS_ADMIN_TOKEN', kind: 'secret', help: 'admin API token' }),
    /** Bearer token Prometheus sends to GET /metrics (≥ 16 characters). Without it only loopback callers (and signed-in admins) may scrape. */
    metricsToken: option(z.string({ error: 'expected at least 16 characters' }).min(16, 'expected at least 16 characters').optional(), { env: 'CHORUS_METRICS_TOKEN', kind: 'secret', help: 'metrics scrape token' }),
    /** How long an admin sign-in lasts, in ms (default 12 h). */
    sessionTtlMs: option(int(60_000, 30 * 86_400_000).default(43_200_000), { env: 'CHORUS_SESSION_TTL_MS', kind: 'int', help: 'admin session lifetime' }),
    /**
     * Always mark the session cookie `Secure`. Requests that arrive over HTTPS (tlsCert/tlsKey, or a
     * trusted proxy saying X-Forwarded-Proto: https) get a Secure cookie anyway; this also covers a
     * proxy that does not send that header.
     */
    secureCookies: option(bool().default(false), { env: 'CHORUS_SECURE_COOKIES', flag: '--secure-cookies', kind: 'bool', help: 'send the session cookie only over HTTPS' }),
    /**
     * PEM certificate (chain) file: with tlsKey, the server speaks HTTPS and WSS on its port and
     * re-reads both files on SIGHUP. @default none (plain HTTP)
     */
    tlsCert: option(z.string({ error: 'expected a PEM certificate file path' }).min(1, 'expected a PEM certificate file path').optional(), {
      env: 'CHORUS_TLS_CERT',
      flag: '--tls-cert <path>',
      kind: 'string',
      help: 'PEM certificate: serve HTTPS/WSS (with --tls-key; SIGHUP reloads)',
    }),
    /** PEM private key file for tlsCert (both or neither). @default none */
    tlsKey: option(z.string({ error: 'expected a PEM private key file path' }).min(1, 'expected a PEM private key file path').optional(), {
      env: 'CHORUS_TLS_KEY',
      flag: '--tls-key <path>',
      kind: 'string',
      help: 'PEM private key for --tls-cert',
    }),
    /** `Strict-Transport-Security: max-age` in seconds, sent on every HTTPS response (0 = no header; default 180 days). */
    hstsMaxAge: option(int(0, 2 * 365 * 86_400).default(15_552_000), {
      env: 'CHORUS_HSTS_MAX_AGE',
      flag: '--hsts-max-age <seconds>',
      kind: 'int',
      help: 'Strict-Transport-Security max-age on HTTPS (0 = off)',
    }),
    /**
     * Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed: addresses, CIDR ranges, or
     * `loopback`, `linklocal`, `uniquelocal`. Behind a TLS-terminating proxy this gives rate limits
     * the visitor's address, and Secure cookies and HSTS to requests the proxy received over HTTPS.
     * Comma-separated in env and flag; default: trust no proxy.
     */
    trustProxy: option(
      z
        .array(z.string().min(1), { error: PROXY_LIST })
        .refine(proxyListValid, PROXY_LIST)
        .default(() => []),
      { env: 'CHORUS_TRUST_PROXY', flag: '--trust-proxy <list>', kind: 'list', help: 'comma-separated proxies whose X-Forwarded-* headers are believed' },
    ),
    /**
     * New participant connections per client IP per minute. High on purpose: an office or a campus
     * behind one NAT is one IP (10,000 browsers reconnecting after a restart); per-connection and
     * per-participant limits are what stop one abuser.
     */
    connectionsPerMinute: option(int(1, 1_000_000).default(20_000), { env: 'CHORUS_RATE_CONNECTIONS', kind: 'int', help: 'participant connections per IP per minute' }),
    /** Update uploads per participant per minute (per IP: 1,000× this, for a NAT full of participants). */
    uploadsPerMinute: option(int(1, 100_000).default(30), { env: 'CHORUS_RATE_UPLOADS', kind: 'int', help: 'uploads per participant per minute' }),
    /** Refuse to restore a participant id without its signed token. */
    requireParticipantToken: option(bool().default(true), { env: 'CHORUS_REQUIRE_PARTICIPANT_TOKEN', kind: 'bool', help: 'require signed participant tokens on re-join' }),
    /** Joins one participant connection may send per minute (a browser joins once, and again only after an error). */
    joinsPerConnectionPerMinute: option(int(1, 10_000).default(5), { env: 'CHORUS_RATE_JOINS_PER_CONNECTION', kind: 'int', help: 'joins per participant connection per minute' }),
    /** Joins per client IP per minute, over all its connections (each fresh join is a participant row). */
    joinsPerIpPerMinute: option(int(1, 1_000_000).default(20_000), { env: 'CHORUS_RATE_JOINS', kind: 'int', help: 'participant joins per IP per minute' }),
    /** Audit rows per client IP per minute for refused calls without a session; the next row says how many were left out. */
    auditRefusalsPerMinute: option(int(1, 1_000_000).default(10), { env: 'CHORUS_AUDIT_REFUSALS', kind: 'int', help: 'audit rows per IP per minute for refused anonymous calls' }),
  })
  .superRefine((cfg, ctx) => {
    // A certificate without its key (or the reverse) is a typo, not a wish for plain HTTP.
    if (cfg.tlsCert !== undefined && cfg.tlsKey === undefined) ctx.addIssue({ code: 'custom', path: ['tlsKey'], message: 'expected the key file for tlsCert (both or neither)' });
    if (cfg.tlsKey !== undefined && cfg.tlsCert === undefined) ctx.addIssue({ code: 'custom', path: ['tlsCert'], message: 'expected the certificate file for tlsKey (both or neither)' });
  });

export type ServerConfig = z.output<typeof serverConfigSchema>;

const KEYS = Object.keys(serverConfigSchema.shape) as (keyof ServerConfig)[];

/** Every option's default, from the schema. */
export const DEFAULT_CONFIG: Readonly<ServerConfig> = Object.freeze(serverConfigSchema.parse({}));

function sourceOf(key: keyof ServerConfig): OptionSource {
  return sources.get(serverConfigSchema.shape[key])!;
}

function describe(key: keyof ServerConfig): string {
  const msg = (serverConfigSchema.shape[key] as z.ZodType).safeParse(Symbol('probe'));
  return msg.success ? 'a valid value' : (msg.error.issues[0]?.message ?? 'a valid value').replace(/^expected /, '');
}

/** Turns a raw string (env or flag) into the option's type; the message names where it came from. */
function coerce(key: keyof ServerConfig, raw: string, source: string): unknown {
  const fail = (): never => {
    throw new ChorusError('INVALID_CONFIG', `${source}: expected ${describe(key)}, got "${raw}"`);
  };
  switch (sourceOf(key).kind) {
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) fail();
      const n = Number(raw.trim());
      const ok = (serverConfigSchema.shape[key] as z.ZodType).safeParse(n);
      return ok.success ? n : fail();
    }
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      return fail();
    }
    case 'list': {
      const list = raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
      const ok = (serverConfigSchema.shape[key] as z.ZodType).safeParse(list);
      return ok.success ? list : fail();
    }
    case 'string': {
      const ok = (serverConfigSchema.shape[key] as z.ZodType).safeParse(raw);
      if (ok.success) return raw;
      // The value's own issue says what was wrong with it; a database URL's password is never echoed.
      throw new ChorusError('INVALID_CONFIG', `${source}: ${ok.error.issues[0]?.message ?? `expected ${describe(key)}`}, got "${redact(raw)}"`);
    }
    case 'secret': {
      // Never echo a secret into logs: say how long it was instead.
      const ok = (serverConfigSchema.shape[key] as z.ZodType).safeParse(raw);
      if (!ok.success) throw new ChorusError('INVALID_CONFIG', `${source}: expected ${describe(key)}, got ${raw.length} characters`);
      return raw;
    }
  }
}

/** Validates a programmatic config (startServer); throws INVALID_CONFIG naming the first bad option. */
export function resolveConfig(partial: Partial<ServerConfig> = {}): ServerConfig {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  const result = serverConfigSchema.safeParse(defined);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const key = issue.path.length > 0 ? String(issue.path[0]) : '';
  const raw = (defined as Record<string, unknown>)[key];
  const secret = key in serverConfigSchema.shape && sourceOf(key as keyof ServerConfig).kind === 'secret';
  const got = !(key in defined) ? 'undefined' : secret && typeof raw === 'string' ? `${raw.length} characters` : JSON.stringify(raw);
  const what = issue.code === 'unrecognized_keys' ? `unknown option ${issue.keys.join(', ')}` : `${describeZodError(result.error)}, got ${got}`;
  throw new ChorusError('INVALID_CONFIG', what);
}

/** Reads env vars then CLI flags (flags win) over the defaults. `argv` excludes node and the script. */
export function loadConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ServerConfig {
  const values: Partial<Record<keyof ServerConfig, unknown>> = {};
  for (const key of KEYS) {
    const raw = env[sourceOf(key).env];
    if (raw !== undefined && raw !== '') values[key] = coerce(key, raw, sourceOf(key).env);
  }

  const program = new Command('chorus-server')
    .description('Chorus aggregation server')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: (s) => process.stdout.write(s) })
    .allowExcessArguments(false);
  for (const key of KEYS) {
    const { flag, help } = sourceOf(key);
    if (flag) program.option(flag, help);
  }
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') throw err;
    throw new ChorusError('INVALID_CONFIG', (e.message ?? String(err)).replace(/^error: /, ''));
  }
  const opts = program.opts<Record<string, unknown>>();
  for (const key of KEYS) {
    const flag = sourceOf(key).flag;
    if (!flag || program.getOptionValueSource(key) !== 'cli') continue;
    const v = opts[key];
    values[key] = typeof v === 'boolean' ? v : coerce(key, String(v), flag.split(' ')[0]!);
  }
  return resolveConfig(values as Partial<ServerConfig>);
}
