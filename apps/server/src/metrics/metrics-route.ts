import type { FastifyInstance } from 'fastify';
import type { ServerMetrics } from './server-metrics.js';

/** GET /metrics in the Prometheus text format. Who may scrape is decided by the auth guard. */
export function registerMetricsRoute(app: FastifyInstance, metrics: ServerMetrics): void {
  app.get('/metrics', async (_req, reply) => {
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(body);
  });
}
