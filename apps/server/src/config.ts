import { Command } from 'commander';
import { z } from 'zod';
import proxyAddr from '@fastify/proxy-addr';
import { ChorusError, describeZodError } from '@chorus/core';

/**
 * Server options, merged over documented defaults (socket.io style). Sources, weakest first:
 * defaults → environment variables (CHORUS_*) → command-line flags. Every value is validated at
 * start-up and a bad one stops the server with a message naming the option and where it came from.
 */
export interface ServerConfig {
  /** TCP port for HTTP and Socket.IO; 0 picks a free port. Env CHORUS_PORT, flag --port. @default 8080 */
  port: number;
  /** Interface to listen on. Env CHORUS_HOST, flag --host. @default '0.0.0.0' */
  host: string;
  /** SQLite database file (':memory:' for a throw-away one). Env CHORUS_DB, flag --db. @default './data/chorus.sqlite' */
  db: string;
  /** SQLite `synchronous` for the WAL: FULL also survives power loss, NORMAL only process crashes. Env CHORUS_DB_SYNC. @default 'FULL' */
  dbSync: 'NORMAL' | 'FULL';
  /** pino log level. Env CHORUS_LOG_LEVEL, flag --log-level. @default 'info' */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Create and start the `mnist-demo` task when the database holds no task. Env CHORUS_DEMO_TASK, flag --no-demo-task. @default true */
  demoTask: boolean;
  /** Origins allowed to call the HTTP API and Socket.IO from a browser ('*' = any). Env CHORUS_CORS_ORIGINS (comma-separated), flag --cors-origins. @default ['http://localhost:3000', 'http://127.0.0.1:3000'] */
  corsOrigins: string[];
  /** Evaluate each new version of MNIST tasks centrally on held-out digits. Env CHORUS_EVALUATE, flag --no-evaluate. @default true */
  evaluate: boolean;
  /** Held-out examples used by central evaluation. Env CHORUS_EVAL_EXAMPLES. @default 2000 */
  evalExamples: number;
  /**
   * Largest update chunk a client may send, in bytes. Socket.IO's `maxHttpBufferSize` is set just
   * above it, because Socket.IO silently drops an over-size message together with the connection.
   * Env CHORUS_MAX_CHUNK_BYTES, flag --max-chunk-bytes. @default 262144
   */
  maxChunkBytes: number;
  /** Pause before retrying an abandoned round, in ms. Env CHORUS_ROUND_RETRY_MS. @default 2000 */
  roundRetryDelayMs: number;
  /**
   * Watchdog: a round still closing (aggregation, checkpoint, central evaluation) after this many ms
   * is abandoned and the task moves on to its next round. Env CHORUS_CLOSE_TIMEOUT_MS. @default 120000
   */
  closeTimeoutMs: number;
  /** Signs admin sessions and participant tokens (≥ 32 characters). Generated once and kept in the database when unset. Env CHORUS_SECRET. */
  secret?: string;
  /** First run only: creates the operator account `admin` with this password (≥ 10 characters). Without it a one-time setup token is logged. Env CHORUS_ADMIN_PASSWORD. */
  adminPassword?: string;
  /** A static `Authorization: Bearer` token with operator rights, for tools and CI (≥ 24 characters). Env CHORUS_ADMIN_TOKEN. @default none */
  adminToken?: string;
  /** Bearer token Prometheus sends to GET /metrics (≥ 16 characters). Without it only loopback callers (and signed-in admins) may scrape. Env CHORUS_METRICS_TOKEN. */
  metricsToken?: string;
  /** How long an admin sign-in lasts, in ms. Env CHORUS_SESSION_TTL_MS. @default 43200000 (12 h) */
  sessionTtlMs: number;
  /**
   * Always mark the session cookie `Secure`. Requests that arrive over HTTPS (tlsCert/tlsKey, or a
   * trusted proxy saying X-Forwarded-Proto: https) get a Secure cookie anyway; this also covers a
   * proxy that does not send that header. Env CHORUS_SECURE_COOKIES, flag --secure-cookies. @default false
   */
  secureCookies: boolean;
  /**
   * PEM certificate (chain) file: with tlsKey, the server speaks HTTPS and WSS on its port and
   * re-reads both files on SIGHUP. Env CHORUS_TLS_CERT, flag --tls-cert. @default none (plain HTTP)
   */
  tlsCert?: string;
  /** PEM private key file for tlsCert (both or neither). Env CHORUS_TLS_KEY, flag --tls-key. @default none */
  tlsKey?: string;
  /**
   * `Strict-Transport-Security: max-age` in seconds, sent on every HTTPS response (0 = no header).
   * Env CHORUS_HSTS_MAX_AGE, flag --hsts-max-age. @default 15552000 (180 days)
   */
  hstsMaxAge: number;
  /**
   * Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed: addresses, CIDR ranges, or
   * `loopback`, `linklocal`, `uniquelocal`. Behind a TLS-terminating proxy this gives rate limits
   * the visitor's address, and Secure cookies and HSTS to requests the proxy received over HTTPS.
   * Env CHORUS_TRUST_PROXY (comma-separated), flag --trust-proxy. @default [] (trust no proxy)
   */
  trustProxy: string[];
  /** New participant connections per client IP per minute. Env CHORUS_RATE_CONNECTIONS. @default 600 */
  connectionsPerMinute: number;
  /** Update uploads per participant per minute (per IP: 20× this). Env CHORUS_RATE_UPLOADS. @default 30 */
  uploadsPerMinute: number;
  /** Refuse to restore a participant id without its signed token. Env CHORUS_REQUIRE_PARTICIPANT_TOKEN. @default true */
  requireParticipantToken: boolean;
  /** Joins one participant connection may send per minute (a browser joins once, and again only after an error). Env CHORUS_RATE_JOINS_PER_CONNECTION. @default 5 */
  joinsPerConnectionPerMinute: number;
  /** Joins per client IP per minute, over all its connections (each fresh join is a participant row). Env CHORUS_RATE_JOINS. @default 300 */
  joinsPerIpPerMinute: number;
  /** Audit rows per client IP per minute for refused calls without a session; the next row says how many were left out. Env CHORUS_AUDIT_REFUSALS. @default 10 */
  auditRefusalsPerMinute: number;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const DEFAULT_CONFIG: Readonly<ServerConfig> = Object.freeze({
  port: 8080,
  host: '0.0.0.0',
  db: './data/chorus.sqlite',
  dbSync: 'FULL',
  logLevel: 'info',
  demoTask: true,
  corsOrigins: ['http://localhost:3000', 'http://127.0.0.1:3000'],
  evaluate: true,
  evalExamples: 2000,
  maxChunkBytes: 262_144,
  roundRetryDelayMs: 2000,
  closeTimeoutMs: 120_000,
  sessionTtlMs: 43_200_000,
  secureCookies: false,
  hstsMaxAge: 15_552_000,
  trustProxy: [],
  connectionsPerMinute: 600,
  uploadsPerMinute: 30,
  requireParticipantToken: true,
  joinsPerConnectionPerMinute: 5,
  joinsPerIpPerMinute: 300,
  auditRefusalsPerMinute: 10,
});

const int = (min: number, max: number) =>
  z.number({ error: `expected an integer ${min}–${max}` }).int(`expected an integer ${min}–${max}`).min(min, `expected an integer ${min}–${max}`).max(max, `expected an integer ${min}–${max}`);

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

export const serverConfigSchema = z.strictObject({
  port: int(0, 65535),
  host: z.string().min(1, 'expected a host name or address'),
  db: z.string().min(1, 'expected a file path or ":memory:"'),
  dbSync: z.enum(['NORMAL', 'FULL'], { error: 'expected NORMAL or FULL' }),
  logLevel: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }),
  demoTask: z.boolean({ error: 'expected true or false' }),
  corsOrigins: z.array(z.string().min(1), { error: 'expected a list of origins' }),
  evaluate: z.boolean({ error: 'expected true or false' }),
  evalExamples: int(1, 10_000),
  maxChunkBytes: int(1024, 16 * 1024 * 1024),
  roundRetryDelayMs: int(0, 3_600_000),
  closeTimeoutMs: int(1000, 86_400_000),
  secret: z.string({ error: 'expected at least 32 characters' }).min(32, 'expected at least 32 characters').optional(),
  adminPassword: z.string({ error: 'expected at least 10 characters' }).min(10, 'expected at least 10 characters').max(1024, 'expected at most 1024 characters').optional(),
  adminToken: z.string({ error: 'expected at least 24 characters' }).min(24, 'expected at least 24 characters').optional(),
  metricsToken: z.string({ error: 'expected at least 16 characters' }).min(16, 'expected at least 16 characters').optional(),
  sessionTtlMs: int(60_000, 30 * 86_400_000),
  secureCookies: z.boolean({ error: 'expected true or false' }),
  tlsCert: z.string({ error: 'expected a PEM certificate file path' }).min(1, 'expected a PEM certificate file path').optional(),
  tlsKey: z.string({ error: 'expected a PEM private key file path' }).min(1, 'expected a PEM private key file path').optional(),
  hstsMaxAge: int(0, 2 * 365 * 86_400),
  trustProxy: z.array(z.string().min(1), { error: PROXY_LIST }).refine(proxyListValid, PROXY_LIST),
  connectionsPerMinute: int(1, 1_000_000),
  uploadsPerMinute: int(1, 100_000),
  requireParticipantToken: z.boolean({ error: 'expected true or false' }),
  joinsPerConnectionPerMinute: int(1, 10_000),
  joinsPerIpPerMinute: int(1, 1_000_000),
  auditRefusalsPerMinute: int(1, 1_000_000),
}).superRefine((cfg, ctx) => {
  // A certificate without its key (or the reverse) is a typo, not a wish for plain HTTP.
  if (cfg.tlsCert !== undefined && cfg.tlsKey === undefined) ctx.addIssue({ code: 'custom', path: ['tlsKey'], message: 'expected the key file for tlsCert (both or neither)' });
  if (cfg.tlsKey !== undefined && cfg.tlsCert === undefined) ctx.addIssue({ code: 'custom', path: ['tlsCert'], message: 'expected the certificate file for tlsKey (both or neither)' });
});

type Kind = 'int' | 'bool' | 'list' | 'string' | 'secret';

/** How each option is read from the environment and the command line. */
const SOURCES: Record<keyof ServerConfig, { env: string; flag?: string; kind: Kind; help: string }> = {
  port: { env: 'CHORUS_PORT', flag: '--port <port>', kind: 'int', help: 'TCP port (0 = any free port)' },
  host: { env: 'CHORUS_HOST', flag: '--host <host>', kind: 'string', help: 'interface to listen on' },
  db: { env: 'CHORUS_DB', flag: '--db <path>', kind: 'string', help: 'SQLite database file' },
  dbSync: { env: 'CHORUS_DB_SYNC', flag: '--db-sync <mode>', kind: 'string', help: 'SQLite synchronous mode: NORMAL or FULL' },
  logLevel: { env: 'CHORUS_LOG_LEVEL', flag: '--log-level <level>', kind: 'string', help: 'log level' },
  demoTask: { env: 'CHORUS_DEMO_TASK', flag: '--no-demo-task', kind: 'bool', help: 'do not create the mnist-demo task' },
  corsOrigins: { env: 'CHORUS_CORS_ORIGINS', flag: '--cors-origins <list>', kind: 'list', help: 'comma-separated allowed origins' },
  evaluate: { env: 'CHORUS_EVALUATE', flag: '--no-evaluate', kind: 'bool', help: 'skip central evaluation' },
  evalExamples: { env: 'CHORUS_EVAL_EXAMPLES', kind: 'int', help: 'held-out examples for central evaluation' },
  maxChunkBytes: { env: 'CHORUS_MAX_CHUNK_BYTES', flag: '--max-chunk-bytes <bytes>', kind: 'int', help: 'largest upload chunk' },
  roundRetryDelayMs: { env: 'CHORUS_ROUND_RETRY_MS', kind: 'int', help: 'pause before retrying an abandoned round' },
  closeTimeoutMs: { env: 'CHORUS_CLOSE_TIMEOUT_MS', kind: 'int', help: 'watchdog for a round that is still closing' },
  // Secrets come from the environment only: flags show up in `ps`.
  secret: { env: 'CHORUS_SECRET', kind: 'secret', help: 'signing secret' },
  adminPassword: { env: 'CHORUS_ADMIN_PASSWORD', kind: 'secret', help: 'first-run admin password' },
  adminToken: { env: 'CHORUS_ADMIN_TOKEN', kind: 'secret', help: 'admin API token' },
  metricsToken: { env: 'CHORUS_METRICS_TOKEN', kind: 'secret', help: 'metrics scrape token' },
  sessionTtlMs: { env: 'CHORUS_SESSION_TTL_MS', kind: 'int', help: 'admin session lifetime' },
  secureCookies: { env: 'CHORUS_SECURE_COOKIES', flag: '--secure-cookies', kind: 'bool', help: 'send the session cookie only over HTTPS' },
  tlsCert: { env: 'CHORUS_TLS_CERT', flag: '--tls-cert <path>', kind: 'string', help: 'PEM certificate: serve HTTPS/WSS (with --tls-key; SIGHUP reloads)' },
  tlsKey: { env: 'CHORUS_TLS_KEY', flag: '--tls-key <path>', kind: 'string', help: 'PEM private key for --tls-cert' },
  hstsMaxAge: { env: 'CHORUS_HSTS_MAX_AGE', flag: '--hsts-max-age <seconds>', kind: 'int', help: 'Strict-Transport-Security max-age on HTTPS (0 = off)' },
  trustProxy: { env: 'CHORUS_TRUST_PROXY', flag: '--trust-proxy <list>', kind: 'list', help: 'comma-separated proxies whose X-Forwarded-* headers are believed' },
  connectionsPerMinute: { env: 'CHORUS_RATE_CONNECTIONS', kind: 'int', help: 'participant connections per IP per minute' },
  uploadsPerMinute: { env: 'CHORUS_RATE_UPLOADS', kind: 'int', help: 'uploads per participant per minute' },
  requireParticipantToken: { env: 'CHORUS_REQUIRE_PARTICIPANT_TOKEN', kind: 'bool', help: 'require signed participant tokens on re-join' },
  joinsPerConnectionPerMinute: { env: 'CHORUS_RATE_JOINS_PER_CONNECTION', kind: 'int', help: 'joins per participant connection per minute' },
  joinsPerIpPerMinute: { env: 'CHORUS_RATE_JOINS', kind: 'int', help: 'participant joins per IP per minute' },
  auditRefusalsPerMinute: { env: 'CHORUS_AUDIT_REFUSALS', kind: 'int', help: 'audit rows per IP per minute for refused anonymous calls' },
};

function describe(key: keyof ServerConfig): string {
  const msg = (serverConfigSchema.shape[key] as z.ZodType).safeParse(Symbol('probe'));
  return msg.success ? 'a valid value' : (msg.error.issues[0]?.message ?? 'a valid value').replace(/^expected /, '');
}

/** Turns a raw string (env or flag) into the option's type; the message names where it came from. */
function coerce(key: keyof ServerConfig, raw: string, source: string): unknown {
  const fail = (): never => {
    throw new ChorusError('INVALID_CONFIG', `${source}: expected ${describe(key)}, got "${raw}"`);
  };
  switch (SOURCES[key].kind) {
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
      return ok.success ? raw : fail();
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
  const result = serverConfigSchema.safeParse({ ...DEFAULT_CONFIG, ...defined });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const key = issue.path.length > 0 ? String(issue.path[0]) : '';
  const raw = (defined as Record<string, unknown>)[key];
  const secret = SOURCES[key as keyof ServerConfig]?.kind === 'secret';
  const got = !(key in defined) ? 'undefined' : secret && typeof raw === 'string' ? `${raw.length} characters` : JSON.stringify(raw);
  const what = issue.code === 'unrecognized_keys' ? `unknown option ${issue.keys.join(', ')}` : `${describeZodError(result.error)}, got ${got}`;
  throw new ChorusError('INVALID_CONFIG', what);
}

/** Reads env vars then CLI flags (flags win) over the defaults. `argv` excludes node and the script. */
export function loadConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ServerConfig {
  const values: Partial<Record<keyof ServerConfig, unknown>> = {};
  const keys = Object.keys(SOURCES) as (keyof ServerConfig)[];
  for (const key of keys) {
    const raw = env[SOURCES[key].env];
    if (raw !== undefined && raw !== '') values[key] = coerce(key, raw, SOURCES[key].env);
  }

  const program = new Command('chorus-server')
    .description('Chorus aggregation server')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: (s) => process.stdout.write(s) })
    .allowExcessArguments(false);
  for (const key of keys) {
    const flag = SOURCES[key].flag;
    if (flag) program.option(flag, SOURCES[key].help);
  }
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') throw err;
    throw new ChorusError('INVALID_CONFIG', (e.message ?? String(err)).replace(/^error: /, ''));
  }
  const opts = program.opts<Record<string, unknown>>();
  for (const key of keys) {
    const flag = SOURCES[key].flag;
    if (!flag || program.getOptionValueSource(key) !== 'cli') continue;
    const v = opts[key];
    values[key] = typeof v === 'boolean' ? v : coerce(key, String(v), flag.split(' ')[0]!);
  }
  return resolveConfig(values as Partial<ServerConfig>);
}
