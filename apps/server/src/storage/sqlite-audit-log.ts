import type Database from 'better-sqlite3';
import type { AuditEntry, AuditLog } from '../admin/audit-log.js';

/** The audit log in SQLite (table from migration 2). */
export function createSqliteAuditLog(db: Database.Database): AuditLog {
  const insert = db.prepare('INSERT INTO audit_log (at, actor, action, target, outcome, status, ip, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const page = db.prepare('SELECT * FROM audit_log WHERE seq < ? ORDER BY seq DESC LIMIT ?');
  return {
    async record(e) {
      insert.run(e.at, e.actor, e.action, e.target, e.outcome, e.status, e.ip, e.detail);
    },
    list: async (limit, before) => page.all(before ?? Number.MAX_SAFE_INTEGER, limit) as AuditEntry[],
  };
}
