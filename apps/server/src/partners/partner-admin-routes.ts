import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ChorusError, STORAGE_FALLBACKS, zodChorusError, type PartnerKeyWithUsage } from '@chorus/core';
import { utcDay, type PartnerKey } from './partner-key.js';
import type { PartnerKeyStore } from './partner-key-store.js';

export const partnerKeyBody = z.strictObject({
  name: z.string().min(1).max(200),
  allowedOrigins: z.array(z.string().min(1).max(300)).min(1).max(100),
  allowedTasks: z.array(z.string().min(1).max(100)).min(1).max(100),
  /** Distinct visitors per UTC day; 0 = no limit. @default 1000 */
  quotaPerDay: z.number().int().min(0).max(10_000_000).default(1000),
  /** @default true */
  active: z.boolean().default(true),
  /** Where the browser blocks the frame's storage: train from memory, or link to the Chorus page. @default 'memory' */
  storageFallback: z.enum(STORAGE_FALLBACKS).default('memory'),
});

/** POST may choose the id; without one the server makes a random `pk_…`. */
export const newPartnerKeyBody = partnerKeyBody.extend({ id: z.string().min(1).max(104).optional() });

/** A key as the console lists it: the key and what came through it. */
export type { PartnerKeyWithUsage };

/** 20 random bytes, base64url: unguessable enough that ids never collide by chance. */
export const generatePartnerKeyId = (): string => `pk_${randomBytes(20).toString('base64url')}`;

/**
 * Operator routes for partner keys, beside the task routes (same trust level as creating a task;
 * the guard makes GET viewer-level and the rest operator-level, and the audit hook logs changes):
 * GET /api/partner-keys (with usage), POST /api/partner-keys (create), PUT /api/partner-keys/:id
 * (create or replace), DELETE /api/partner-keys/:id.
 */
export function registerPartnerAdminRoutes(app: FastifyInstance, keys: PartnerKeyStore, now: () => number = Date.now): void {
  const withUsage = async (key: PartnerKey): Promise<PartnerKeyWithUsage> => ({ ...key, usage: await keys.usage(key.id, utcDay(now())) });
  const parse = <S extends z.ZodType>(schema: S, body: unknown): z.infer<S> => {
    const parsed = schema.safeParse(body ?? {});
    if (!parsed.success) throw zodChorusError('BAD_REQUEST', parsed.error, 'partner key');
    return parsed.data;
  };

  app.get('/api/partner-keys', async () => ({ keys: await Promise.all((await keys.list()).map(withUsage)) }));

  app.post('/api/partner-keys', async (req, reply) => {
    const { id = generatePartnerKeyId(), ...fields } = parse(newPartnerKeyBody, req.body);
    if (await keys.get(id)) throw new ChorusError('INVALID_CONFIG', `id: a partner key "${id}" already exists; edit it instead`);
    await keys.put({ id, ...fields });
    return reply.status(201).send({ key: await withUsage((await keys.get(id))!) });
  });

  app.put<{ Params: { id: string } }>('/api/partner-keys/:id', async (req, reply) => {
    const body = parse(partnerKeyBody, req.body);
    await keys.put({ id: req.params.id, ...body });
    return reply.status(200).send({ key: await withUsage((await keys.get(req.params.id))!) });
  });

  app.delete<{ Params: { id: string } }>('/api/partner-keys/:id', async (req, reply) => {
    if (!(await keys.remove(req.params.id))) throw new ChorusError('NOT_FOUND', `There is no partner key "${req.params.id}".`);
    return reply.status(204).send();
  });
}
