import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ChorusError } from '@chorus/core';
import { describeZodError } from '../transport/socket-handlers.js';
import type { PartnerKeyStore } from './partner-key-store.js';

const partnerKeyBody = z.strictObject({
  name: z.string().min(1).max(200),
  allowedOrigins: z.array(z.string().min(1).max(300)).min(1).max(100),
  allowedTasks: z.array(z.string().min(1).max(100)).min(1).max(100),
  /** Distinct visitors per UTC day; 0 = no limit. @default 1000 */
  quotaPerDay: z.number().int().min(0).max(10_000_000).default(1000),
  /** @default true */
  active: z.boolean().default(true),
});

/**
 * Operator routes for partner keys, beside the task routes (same trust level as creating a task):
 * GET /api/partner-keys and PUT /api/partner-keys/:id (create or replace).
 */
export function registerPartnerAdminRoutes(app: FastifyInstance, keys: PartnerKeyStore): void {
  app.get('/api/partner-keys', async () => ({ keys: keys.list() }));

  app.put<{ Params: { id: string } }>('/api/partner-keys/:id', async (req, reply) => {
    const body = partnerKeyBody.safeParse(req.body ?? {});
    if (!body.success) throw new ChorusError('BAD_REQUEST', describeZodError(body.error, 'partner key'));
    keys.put({ id: req.params.id, ...body.data });
    return reply.status(200).send({ key: keys.get(req.params.id) });
  });
}
