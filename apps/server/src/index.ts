import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import pino, { type Logger } from 'pino';
import type { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { createStrategy, decodePayload, encodePayload, maxPayloadBytes, parsePayload } from '@chorus/core';
import { installAdminNamespace } from './admin/admin-namespace.js';
import { memoryLimiters, redisLimiters } from './cluster/rate-limiters.js';
import { connectRedis } from './cluster/redis-connection.js';
import { installRedisAdapter } from './cluster/socket-adapter.js';
import { ClusterCoordination } from './cluster/cluster-coordination.js';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { EngineTransport } from './rounds/engine-deps.js';
import { AdminEventBus, observeStorage } from './admin/admin-events.js';
import { installAuditHook } from './admin/audit-log.js';
import { AdminAuth } from './auth/admin-auth.js';
import { installAuthGuard } from './auth/http-guard.js';
import { ParticipantGuard } from './auth/participant-guard.js';
import { resolveConfig, type ServerConfig } from './config.js';
import { registerAdminRoutes } from './http/admin-routes.js';
import { registerApiDocsRoute } from './http/api-docs.js';
import { registerMetricsRoute } from './metrics/metrics-route.js';
import { ServerMetrics } from './metrics/server-metrics.js';
import { installCors, originAllowed } from './http/cors.js';
import { installOriginGuard } from './http/origin-guard.js';
import { installErrorHandlers } from './http/http-errors.js';
import { createTransportSecurity, installHsts } from './http/transport-security.js';
import { readTlsFiles, reloadTls, type TlsReloadResult } from './tls/tls-files.js';
import { registerModelRoutes } from './http/model-routes.js';
import { createModelDeltaStore } from './rounds/model-deltas.js';
import { registerModelUploadRoutes, type ModelUploadOptions } from './http/model-upload-routes.js';
import { registerTaskRoutes } from './http/task-routes.js';
import { registerPublicFiles } from './http/public-files.js';
import type { Clock } from './rounds/clock.js';
import type { Evaluate, PayloadOps } from './rounds/engine-deps.js';
import { RoundEngine } from './rounds/round-engine.js';
import { openStorage } from './storage/open-storage.js';
import { redact } from './storage/postgres-url.js';
import { installPartnerKeys } from './partners/install-partner-keys.js';
import type { Storage } from './storage/storage.js';
import { builtInEvaluators, createEvaluatorRegistry, evaluateByDataset, type EvaluatorRegistry } from './tasks/evaluator-registry.js';
import { ensureDemoTask } from './tasks/task-factory.js';
import { createTaskService } from './tasks/task-service.js';
import { installHandshakeRelease } from './transport/handshake-request.js';
import { attachSocketHandlers, createSocketTransport, type ChorusServer, type TransportTap } from './transport/socket-handlers.js';
import { chorusSocketParser } from './transport/socket-parser.js';
import { startHealthListener, type HealthListener } from './http/health-listener.js';
import { checkReadiness } from './http/readiness.js';

export type { ServerConfig } from './config.js';
export { DEFAULT_CONFIG, loadConfig, resolveConfig } from './config.js';
export { RoundEngine, type CreateTaskInput } from './rounds/round-engine.js';
export type { TaskSummary, OpenRoundSummary, RoundPhase } from './rounds/task-summary.js';
export type { Storage, StoredTask, StoredRound, StoredVersion, StoredReceipt, VersionSummary } from './storage/storage.js';
export { SqliteStorage } from './storage/sqlite-storage.js';
export { PgStorage } from './storage/pg-storage.js';
export { openStorage } from './storage/open-storage.js';
export { systemClock, type Clock } from './rounds/clock.js';
export type { Evaluate } from './rounds/engine-deps.js';
export { createEvaluatorRegistry, builtInEvaluators, type EvaluatorRegistry, type EvaluatorRegistration } from './tasks/evaluator-registry.js';
export type { TlsReloadResult } from './tls/tls-files.js';
export { DEMO_TASK, DEMO_TASK_ID, createTaskFromTemplate } from './tasks/task-factory.js';

/** Dependencies a test or an embedding program may replace. */
export interface ServerOverrides {
  /** @default pino at config.logLevel */
  readonly logger?: Logger;
  /** Replaces central evaluation (null = none). @default the evaluator registered for the task's dataset, when config.evaluate */
  readonly evaluate?: Evaluate | null;
  /** Central evaluators by dataset. @default the built-ins (mnist, spam-assassin) */
  readonly evaluators?: EvaluatorRegistry;
  /** @default systemClock */
  readonly clock?: Clock;
  /** Limits of POST /api/admin/tasks/upload (body, parameters, build worker). @default their documented defaults */
  readonly modelUpload?: ModelUploadOptions;
  /** Uniform [0, 1) source for client selection and the download step's rounding (the simulator seeds it). @default Math.random */
  readonly random?: () => number;
}

export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:8080, or https://… with tlsCert/tlsKey (HTTP API and Socket.IO on the same port). */
  readonly url: string;
  readonly port: number;
  /** The health port's base URL (healthPort), answered off the main thread; null when it is off. */
  readonly healthUrl: string | null;
  readonly config: ServerConfig;
  /** The round engine (tasks, rounds, participants) — for tests and the simulator. */
  readonly engine: RoundEngine;
  /** With Redis: which tasks this process coordinates, its process id, leases and presence. Null on one process. */
  readonly cluster: ClusterCoordination | null;
  readonly storage: Storage;
  readonly io: ChorusServer;
  /** Admin accounts, sessions and tokens. */
  readonly auth: AdminAuth;
  readonly metrics: ServerMetrics;
  /** Round facts as they are persisted (what the admin feed and metrics see). */
  readonly events: AdminEventBus;
  /** Every registered HTTP route, as "METHOD /pattern" (the authorization test walks them). */
  readonly routes: readonly string[];
  /** One-time setup token logged at start when no admin account exists yet; null otherwise. */
  readonly setupToken: string | null;
  /**
   * Re-reads tlsCert and tlsKey and serves them to new connections (SIGHUP calls this). A file that
   * cannot be read or a pair that does not match is logged and reported, and the old pair stays.
   */
  reloadTls(): TlsReloadResult;
  /** Graceful stop: open rounds abandoned ('server shutdown'), sockets closed, database closed. */
  close(): Promise<void>;
}

const corePayloadOps: PayloadOps = {
  encode: (flat, codec) => encodePayload(flat, codec),
  decode: decodePayload,
  parse: parsePayload,
  maxBytes: maxPayloadBytes,
};

/** Starts HTTP + Socket.IO on one port over a SQLite or PostgreSQL database; every task resumes from its last version. */
export async function startServer(config: Partial<ServerConfig> = {}, overrides: ServerOverrides = {}): Promise<RunningServer> {
  const cfg = resolveConfig(config);
  // Read before anything is opened: a bad certificate is a start-up error naming the option.
  const tlsPaths = cfg.tlsCert !== undefined && cfg.tlsKey !== undefined ? { tlsCert: cfg.tlsCert, tlsKey: cfg.tlsKey } : null;
  const tlsFiles = tlsPaths ? readTlsFiles(tlsPaths) : null;
  const logger = overrides.logger ?? pino({ level: cfg.logLevel, base: { service: 'chorus-server' } });
  const database = await openStorage({ db: cfg.db, dbSchema: cfg.dbSchema, dbSync: cfg.dbSync, retention: { keepLast: cfg.keepVersions, keepEvery: cfg.keepEveryVersion }, logger });
  const events = new AdminEventBus();
  // Round facts are observed where they are persisted: the console feed and metrics follow the database.
  const storage = observeStorage(database, events);
  const audit = storage.audit;
  const routes: string[] = [];
  const transport = createTransportSecurity(cfg.trustProxy);
  // HTTPS and WSS share one port, as HTTP and WS do: Socket.IO attaches to whichever server this is.
  const httpsServer: HttpsServer | null = tlsFiles ? createHttpsServer({ cert: tlsFiles.cert, key: tlsFiles.key }) : null;
  const app = Fastify({ // Request logs are info-level noise at hundreds of clients; warnings and errors still show.
    loggerInstance: logger.child({ component: 'http' }, { level: logger.isLevelEnabled('debug') ? 'debug' : 'warn' }) as FastifyBaseLogger, bodyLimit: 1024 * 1024,
    // Fastify's types tie the instance to http.Server; an https.Server serves the same requests.
    serverFactory: (handler) => (httpsServer ? (httpsServer.on('request', handler) as unknown as HttpServer) : createHttpServer(handler)),
    trustProxy: cfg.trustProxy.length > 0 ? [...cfg.trustProxy] : false });
  const io: ChorusServer = new Server(app.server, {
    serveClient: false,
    // Socket.IO drops an over-size message together with the connection, without telling the
    // client why. Chunks are bounded by maxChunkBytes, so leave headroom only for the envelope.
    maxHttpBufferSize: cfg.maxChunkBytes + 64 * 1024,
    // More binary attachments than socket.io-parser's default 10: a secure round's keys carry 2 per neighbour.
    parser: chorusSocketParser,
    cors: { origin: (origin, cb) => cb(null, originAllowed(cfg.corsOrigins, origin)), credentials: true },
  });
  // Before any other middleware: rate limits and logs must see the visitor, not the proxy in front.
  io.use((socket, next) => {
    socket.handshake.address = transport.clientAddress(socket.request);
    next();
  });
  // After the middlewares (all of them run before any connection listener): the HTTP request can go.
  installHandshakeRelease(io);
  const evaluators = overrides.evaluators ?? createEvaluatorRegistry(builtInEvaluators({ examples: cfg.evalExamples, logger }));
  const evaluate = overrides.evaluate === undefined ? (cfg.evaluate ? evaluateByDataset(evaluators) : undefined) : (overrides.evaluate ?? undefined);
  // Reads the engine lazily: it is created just below with the timed strategy factory.
  const metrics = new ServerMetrics(events, function* () {
    for (const taskId of engine.taskIds()) {
      // Several processes: the coordinator reports the task's participants on every process; the others none (summing stays right).
      if (!engine.coordinates(taskId)) continue;
      for (const [backend, count] of Object.entries(engine.summary(taskId).byBackend)) yield { taskId, backend, count };
    }
  }, function* () {
    for (const [namespace, nsp] of io._nsps) yield { namespace, count: nsp.sockets.size };
  });
  // The socket handlers hear of round:cancel through this tap (their upload gate answers waiting begins).
  const tap: TransportTap = {
    // Once per version and process: how long its participants took to hear of it (the fan-out).
    written: (event, sockets, ms, msg) => {
      if (event !== 'model:updated') return;
      const { taskId, version } = msg as { taskId: string; version: number };
      logger.info({ taskId, version, sockets, ms: Math.round(ms) }, 'new version written to this process\'s participants');
      cluster?.versionWritten(taskId, version);
    },
  };
  const sockets = createSocketTransport(io, tap);
  // Several processes: a coordinator's broadcast also goes to the sockets of the other processes,
  // and a direct send to a socket held elsewhere is relayed over the cluster's bus (tap.relay).
  let cluster: ClusterCoordination | null = null;
  const engineTransport: EngineTransport = {
    send: (connectionId, event, msg) => {
      sockets.send(connectionId, event, msg);
      if (event === 'round:cancel' && cluster) {
        const m = msg as { taskId: string; roundId: string; reason: string };
        cluster.roundOver(m.taskId, m.roundId, m.reason);
      }
    },
    broadcast: (taskId, event, msg) => {
      sockets.broadcast(taskId, event, msg);
      cluster?.broadcast(taskId, event, msg);
    },
  };
  const engine: RoundEngine = new RoundEngine({
    storage,
    transport: engineTransport,
    payload: corePayloadOps,
    createStrategy: metrics.timeStrategies(createStrategy),
    logger,
    roundRetryDelayMs: cfg.roundRetryDelayMs,
    closeTimeoutMs: cfg.closeTimeoutMs,
    modelDeltas: createModelDeltaStore(),
    ...(overrides.clock ? { clock: overrides.clock } : {}),
    ...(overrides.random ? { random: overrides.random } : {}),
    ...(evaluate ? { evaluate } : {}),
  });

  let stopAdminFeed = (): void => undefined;
  let setupToken: string | null = null;
  let health: HealthListener | null = null;
  let auth!: AdminAuth;
  let redis: Redis | null = null;
  try {
    if (cfg.redis !== undefined) {
      redis = await connectRedis(cfg.redis, logger);
      installRedisAdapter(io, redis, cfg.redisPrefix);
      cluster = new ClusterCoordination(redis, engine, storage, {
        prefix: cfg.redisPrefix,
        processId: `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
        leaseMs: cfg.leaseMs,
        logger,
        localBroadcast: sockets.broadcast,
        localRoundClosed: (roundId, reason) => tap.roundClosed?.(roundId, reason),
        localDeliver: sockets.deliver,
      });
      const relayTo = cluster;
      tap.relay = (socketIds, event, msg) => relayTo.relay(socketIds, event, msg);
      engine.useCoordination(cluster);
      await cluster.connect();
    }
    // Rate limits and the sign-in throttle count in Redis when there is one, so they hold across processes.
    const limiters = redis ? redisLimiters(redis, cfg.redisPrefix) : memoryLimiters;
    auth = await AdminAuth.create(storage.auth, { secret: cfg.secret, adminPassword: cfg.adminPassword, adminToken: cfg.adminToken, sessionTtlMs: cfg.sessionTtlMs, logger, throttle: { limiters } });
    await engine.init();
    installHsts(app, io, transport, cfg.hstsMaxAge);
    app.addHook('onRoute', (r) => {
      for (const m of [r.method].flat()) routes.push(`${m} ${r.url}`);
    });
    installCors(app, cfg.corsOrigins);
    installErrorHandlers(app);
    installOriginGuard(app, cfg.corsOrigins);
    await installAuthGuard(app, auth, { metricsToken: cfg.metricsToken });
    installAuditHook(app, audit, logger, { anonymousRefusalsPerMinute: cfg.auditRefusalsPerMinute, ...(overrides.clock ? { now: () => overrides.clock!.now() } : {}) });
    const tasks = createTaskService(engine);
    // A Redis that does not answer within 2 s makes the process not ready (ioredis would queue the ping until it reconnects).
    const redisProbe = redis ? { ping: () => Promise.race([redis!.ping(), new Promise((_, fail) => setTimeout(() => fail(new Error('no answer within 2 s')), 2000).unref())]) } : null;
    const ctx = { engine, storage, logger, tasks, redis: redisProbe };
    if (cluster) {
      // A task created on another process a moment ago is loaded on first sight, not answered 404.
      app.addHook('preHandler', async (req) => {
        const id = (req.params as { id?: unknown } | undefined)?.id;
        if (typeof id === 'string' && req.routeOptions.url?.startsWith('/api/tasks/:id')) await engine.knowTask(id);
      });
    }
    registerTaskRoutes(app, ctx);
    registerModelRoutes(app, ctx);
    registerModelUploadRoutes(app, ctx, overrides.modelUpload);
    registerAdminRoutes(app, { ...ctx, auth, audit, secureCookies: cfg.secureCookies, transport });
    registerMetricsRoute(app, metrics);
    registerApiDocsRoute(app, routes);
    // The partner demo page belongs to the local demo, as the demo task and key do.
    if (cfg.demoTask) registerPublicFiles(app);
    const guard = new ParticipantGuard({
      secret: auth.secret,
      corsOrigins: cfg.corsOrigins,
      connectionsPerMinute: cfg.connectionsPerMinute,
      uploadsPerMinute: cfg.uploadsPerMinute,
      requireToken: cfg.requireParticipantToken,
      joinsPerConnectionPerMinute: cfg.joinsPerConnectionPerMinute,
      joinsPerIpPerMinute: cfg.joinsPerIpPerMinute,
      tokens: storage.participantTokens,
      limiters,
      logger,
    });
    guard.install(io);
    await installPartnerKeys(app, io, storage.partnerKeys, { engine, demoKey: cfg.demoTask, corsOrigins: cfg.corsOrigins, logger });
    attachSocketHandlers(io, engine, { maxChunkBytes: cfg.maxChunkBytes, logger, guard, uploadBudgetBytes: cfg.uploadBudgetBytes, tap, onUploadEnded: (task, accepted) => metrics.uploadsHere.inc({ task, outcome: accepted ? 'accepted' : 'refused' }) });
    stopAdminFeed = installAdminNamespace(io, { auth, bus: events, engine, corsOrigins: cfg.corsOrigins, logger });
    setupToken = await auth.bootstrap();
    if (cfg.demoTask) await ensureDemoTask(engine, tasks, logger);
    await app.listen({ port: cfg.port, host: cfg.host });
    if (cfg.healthPort !== undefined) {
      health = await startHealthListener({ host: cfg.host, port: cfg.healthPort, stallMs: cfg.healthStallMs, readiness: () => checkReadiness(storage, redis), logger });
    }
    // Listening first: a process that takes a task over can already be reached by its participants.
    await cluster?.startLeasing();
  } catch (err) {
    stopAdminFeed();
    await health?.close();
    await engine.close().catch(() => undefined);
    await cluster?.close().catch(() => undefined);
    io.close();
    await app.close().catch(() => undefined);
    redis?.disconnect();
    await storage.close();
    throw err;
  }

  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : cfg.port;
  const host = cfg.host === '0.0.0.0' || cfg.host === '::' ? '127.0.0.1' : cfg.host;
  const url = `${httpsServer ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url, db: redact(cfg.db), tasks: engine.taskIds(), ...(tlsPaths ? { tlsCert: tlsPaths.tlsCert } : {}), ...(health ? { healthUrl: health.url } : {}) }, 'chorus server listening');

  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    healthUrl: health?.url ?? null,
    config: cfg,
    engine,
    cluster,
    storage,
    io,
    auth,
    metrics,
    events,
    routes,
    setupToken,
    reloadTls() {
      if (!httpsServer || !tlsPaths) {
        logger.info('TLS reload asked for, but TLS is off (no tlsCert/tlsKey)');
        return { reloaded: false, reason: 'TLS is off (no tlsCert/tlsKey)' };
      }
      return reloadTls(httpsServer, tlsPaths, logger);
    },
    close() {
      closing ??= (async () => {
        // Probes fail first: a load balancer stops sending visitors here while the rest shuts down.
        await health?.close();
        stopAdminFeed();
        cluster?.stopLeasing();
        await engine.close();
        // The leases go back at once: another process takes the tasks over without waiting out the lease time.
        await cluster?.close();
        io.disconnectSockets(true);
        await app.close();
        await new Promise<void>((resolve) => {
          // io.close() also closes the HTTP server, which fastify already did: ignore that error.
          void io.close(() => resolve());
        });
        redis?.disconnect();
        await storage.close();
        logger.info('chorus server closed');
      })();
      return closing;
    },
  };
}

export { AdminAuth, type Principal } from './auth/admin-auth.js';
export type { Role, AdminUser } from './auth/auth-store.js';
export { PUBLIC_ROUTES, requiredAccess } from './auth/access-policy.js';
export { SESSION_COOKIE } from './auth/http-guard.js';
export { ADMIN_NAMESPACE, ADMIN_CLIENT_EVENTS, ADMIN_SERVER_EVENTS } from './admin/admin-namespace.js';
export type { AdminEvent } from './admin/admin-events.js';
