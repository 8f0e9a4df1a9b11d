import type { AuditEntry, AuditLog } from '../admin/audit-log.js';
import type { PgDb } from './pg-db.js';

/** The audit log in PostgreSQL (table from migration 2). */
export function createPgAuditLog(db: PgDb): AuditLog {
  return {
    async record(e) {
      await db.query('INSERT INTO audit_log (at, actor, action, target, outcome, status, ip, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [e.at, e.actor, e.action, e.target, e.outcome, e.status, e.ip, e.detail]);
    },
    list: async (limit, before) => (await db.query<AuditEntry>('SELECT * FROM audit_log WHERE seq < $1 ORDER BY seq DESC LIMIT $2', [before ?? Number.MAX_SAFE_INTEGER, limit])).rows,
  };
}
