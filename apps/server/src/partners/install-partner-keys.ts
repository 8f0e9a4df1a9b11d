import type Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Server } from 'socket.io';
import { installPartnerHandshake, registerEmbedCheckRoute } from './partner-access.js';
import type { PartnerKey } from './partner-key.js';
import { createPartnerKeyStore, type PartnerKeyStore } from './partner-key-store.js';

/** The demo key the e2e tests and the partner demo page use: any local port, any task. */
export const DEMO_PARTNER_KEY: PartnerKey = {
  id: 'pk_demo',
  name: 'Local demo partner',
  allowedOrigins: ['http://localhost:*', 'http://127.0.0.1:*'],
  allowedTasks: ['*'],
  quotaPerDay: 1000,
  active: true,
};

export interface InstallPartnerKeysOptions {
  /** Creates DEMO_PARTNER_KEY when no key exists yet. */
  readonly demoKey: boolean;
  readonly taskExists: (taskId: string) => boolean;
  /** The server's CORS rule (origins the Chorus web app, and so the iframe, is served from). */
  readonly chorusOrigins: (origin: string | undefined) => boolean;
  readonly logger: Logger;
}

/** Partner keys in one call: tables, demo key, GET /api/embed/check and the Socket.IO handshake rules. */
export function installPartnerKeys(app: FastifyInstance, io: Server, db: Database.Database, options: InstallPartnerKeysOptions): PartnerKeyStore {
  const keys = createPartnerKeyStore(db);
  if (options.demoKey && keys.list().length === 0) keys.put(DEMO_PARTNER_KEY);
  const access = { keys, taskExists: options.taskExists, chorusOrigins: options.chorusOrigins, logger: options.logger };
  registerEmbedCheckRoute(app, access);
  installPartnerHandshake(io, access);
  return keys;
}
