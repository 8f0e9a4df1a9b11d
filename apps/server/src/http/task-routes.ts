import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ChorusError } from '@chorus/core';
import type { RoundEngine } from '../rounds/round-engine.js';
import type { TaskSummary } from '../rounds/task-summary.js';
import type { Storage } from '../storage/storage.js';
import { templateTaskSource } from '../tasks/task-factory.js';
import type { TaskService } from '../tasks/task-service.js';
import { checkReadiness } from './readiness.js';

export interface RouteContext {
  readonly engine: RoundEngine;
  readonly storage: Storage;
  readonly logger: Logger;
  /** Task creation (from a template or an uploaded model). */
  readonly tasks: TaskService;
  /** Redis, when several processes share it: /readyz checks it too. */
  readonly redis?: { ping(): Promise<unknown> } | null;
}

type IdParams = { Params: { id: string }; Querystring: { limit?: string } };

export function parseLimit(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new ChorusError('BAD_REQUEST', `limit: expected an integer 1–1000, got "${raw}"`);
  return n;
}

/** What the admin console shows for a task: its config, status, version and the round in progress. */
export function taskSummary(engine: RoundEngine, id: string) {
  return shapeSummary(id, engine.summary(id));
}

/** The same, asked of the task's coordinator when another server process runs its rounds. */
export async function liveTaskSummary(engine: RoundEngine, id: string) {
  return shapeSummary(id, await engine.liveSummary(id));
}

function shapeSummary(id: string, s: TaskSummary) {
  return {
    id,
    name: s.config.name,
    status: s.status,
    phase: s.phase,
    latestVersion: s.version,
    connected: s.connected,
    currentRound: s.currentRound,
    config: s.config,
    createdAt: s.createdAt,
  };
}

export function registerTaskRoutes(app: FastifyInstance, { engine, storage, tasks, logger, redis }: RouteContext): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const readiness = await checkReadiness(storage, redis);
    if (!readiness.ready) return reply.status(503).send({ error: { code: 'UNAVAILABLE', message: readiness.message } });
    return { status: 'ready' };
  });

  app.get('/api/tasks', async () => {
    await engine.knowAllTasks();
    return { tasks: await Promise.all(engine.taskIds().map((id) => liveTaskSummary(engine, id))) };
  });

  app.get<IdParams>('/api/tasks/:id', async (req) => {
    const summary = await liveTaskSummary(engine, req.params.id);
    const [versions, rounds] = await Promise.all([storage.listVersions(req.params.id, 10), storage.listRounds(req.params.id, 20)]);
    return { task: summary, versions, rounds };
  });

  app.post('/api/tasks', async (req, reply) => {
    const task = await tasks.create(templateTaskSource(req.body, logger));
    return reply.status(201).send({ task: taskSummary(engine, task.id) });
  });

  const actions = { start: engine.start, pause: engine.pause, resume: engine.resume, stop: engine.stop } as const;
  for (const [name, action] of Object.entries(actions)) {
    app.post<IdParams>(`/api/tasks/:id/${name}`, async (req) => {
      const status = await action.call(engine, req.params.id);
      logger.info({ taskId: req.params.id, action: name, status }, 'operator action');
      return { taskId: req.params.id, status };
    });
  }

  app.get<IdParams>('/api/tasks/:id/rounds', async (req) => {
    engine.summary(req.params.id); // NOT_FOUND for an unknown task
    return { rounds: await storage.listRounds(req.params.id, parseLimit(req.query.limit, 50)) };
  });

  app.get<{ Params: { id: string; round: string } }>('/api/tasks/:id/rounds/:round/receipts', async (req) => {
    engine.summary(req.params.id); // NOT_FOUND for an unknown task
    const round = Number(req.params.round);
    if (!Number.isInteger(round) || round < 1) throw new ChorusError('BAD_REQUEST', `round: expected a positive integer, got "${req.params.round}"`);
    return { receipts: await storage.listReceipts(req.params.id, round) };
  });

  app.get<{ Params: { id: string; round: string } }>('/api/tasks/:id/rounds/:round/selection', async (req) => {
    engine.summary(req.params.id); // NOT_FOUND for an unknown task
    const round = Number(req.params.round);
    if (!Number.isInteger(round) || round < 1) throw new ChorusError('BAD_REQUEST', `round: expected a positive integer, got "${req.params.round}"`);
    // Pseudonymous ids only; null when the storage keeps no picks or the round predates them.
    return { selection: (await storage.getRoundSelection?.(req.params.id, round)) ?? null };
  });

  app.get<IdParams>('/api/tasks/:id/versions', async (req) => {
    engine.summary(req.params.id); // NOT_FOUND for an unknown task
    return { versions: await storage.listVersions(req.params.id, parseLimit(req.query.limit, 50)) };
  });
}
