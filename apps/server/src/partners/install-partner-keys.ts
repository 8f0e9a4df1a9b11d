import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Server } from 'socket.io';
import { originAllowed } from '../http/cors.js';
import type { RoundEngine } from '../rounds/round-engine.js';
import { installPartnerHandshake, registerEmbedCheckRoute, registerFrameAncestorsRoute, type PartnerAccessOptions } from './partner-access.js';
import { registerPartnerAdminRoutes } from './partner-admin-routes.js';
import type { PartnerKey } from './partner-key.js';
import type { PartnerKeyStore } from './partner-key-store.js';

/** The demo key the e2e tests and the partner demo page use: any local port, any task. */
export const DEMO_PARTNER_KEY: PartnerKey = {
  id: 'pk_demo',
  name: 'Local demo partner',
  allowedOrigins: ['http://localhost:*', 'http://127.0.0.1:*'],
  allowedTasks: ['*'],
  quotaPerDay: 1000,
  storageFallback: 'memory',
  active: true,
};

export interface InstallPartnerKeysOptions {
  /** Creates DEMO_PARTNER_KEY when no key exists yet. */
  readonly demoKey: boolean;
  /** Tasks are looked up here (a task created later is found too). */
  readonly engine: Pick<RoundEngine, 'hasTask' | 'task'>;
  /** The server's CORS list: origins the Chorus web app, and so the iframe, is served from. */
  readonly corsOrigins: readonly string[];
  readonly logger: Logger;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Partner keys in one call: demo key, GET /api/embed/check and /api/embed/frame-ancestors,
 * the operator routes (/api/partner-keys) and the Socket.IO handshake rules.
 */
export async function installPartnerKeys(app: FastifyInstance, io: Server, keys: PartnerKeyStore, options: InstallPartnerKeysOptions): Promise<PartnerKeyStore> {
  if (options.demoKey && (await keys.list()).length === 0) await keys.put(DEMO_PARTNER_KEY);
  const { engine } = options;
  const access: PartnerAccessOptions = {
    keys,
    taskFacts: (id) => {
      if (!engine.hasTask(id)) return null;
      // engine.task, not summary: this runs for every handshake, and a summary counts every member.
      const { name, data } = engine.task(id).config;
      return { name, inputShape: data.inputShape, numClasses: data.numClasses, dataset: data.dataset ?? null };
    },
    chorusOrigins: (origin) => originAllowed(options.corsOrigins, origin),
    logger: options.logger,
    ...(options.now ? { now: options.now } : {}),
  };
  registerEmbedCheckRoute(app, access);
  registerFrameAncestorsRoute(app, keys);
  registerPartnerAdminRoutes(app, keys, options.now);
  installPartnerHandshake(io, access);
  return keys;
}
