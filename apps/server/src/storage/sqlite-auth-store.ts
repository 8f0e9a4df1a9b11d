import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { ChorusError } from '@chorus/core';
import type { AdminUser, AuthStore, Role } from '../auth/auth-store.js';
import { userFromRow, type UserRow } from './storage-rows.js';

/** Admin accounts, sessions and settings in SQLite (tables from migration 2). */
export function createSqliteAuthStore(db: Database.Database): AuthStore {
  const count = db.prepare('SELECT COUNT(*) AS n FROM admin_users');
  const byName = db.prepare('SELECT * FROM admin_users WHERE username = ?');
  const insertUser = db.prepare('INSERT INTO admin_users (id, username, password_hash, role, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)');
  const countUsers = (): number => (count.get() as { n: number }).n;
  // better-sqlite3 transactions are synchronous: count, check and insert cannot interleave with another writer.
  const createUser = db.transaction((username: string, passwordHash: string, role: Role, createdBy: string | null, at: number, onlyIfEmpty: boolean): AdminUser => {
    if (onlyIfEmpty && countUsers() > 0) throw new ChorusError('FORBIDDEN', 'setup is closed: an admin account already exists');
    if (byName.get(username)) throw new ChorusError('BAD_REQUEST', `username: "${username}" is already taken`);
    const id = randomUUID();
    insertUser.run(id, username, passwordHash, role, at, createdBy);
    return { id, username, role, createdAt: at, createdBy };
  });
  const getSetting = (key: string): string | null => (db.prepare('SELECT value FROM server_settings WHERE key = ?').get(key) as { value: string } | undefined)?.value ?? null;

  return {
    countUsers: async () => countUsers(),
    createUser: async (username, passwordHash, role, createdBy, at, onlyIfEmpty = false) => createUser(username, passwordHash, role, createdBy, at, onlyIfEmpty),
    async findByUsername(username) {
      const r = byName.get(username) as UserRow | undefined;
      return r ? { ...userFromRow(r), passwordHash: r.password_hash } : null;
    },
    async getUser(id) {
      const r = db.prepare('SELECT * FROM admin_users WHERE id = ?').get(id) as UserRow | undefined;
      return r ? userFromRow(r) : null;
    },
    listUsers: async () => (db.prepare('SELECT * FROM admin_users ORDER BY created_at, username').all() as UserRow[]).map(userFromRow),
    async createSession(userId, at, expiresAt) {
      const id = randomUUID();
      db.prepare('INSERT INTO admin_sessions (id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)').run(id, userId, at, expiresAt);
      return id;
    },
    async sessionUser(sessionId, now) {
      const r = db
        .prepare('SELECT u.* FROM admin_sessions s JOIN admin_users u ON u.id = s.user_id WHERE s.id = ? AND s.revoked_at IS NULL AND s.expires_at > ?')
        .get(sessionId, now) as UserRow | undefined;
      return r ? userFromRow(r) : null;
    },
    async revokeSession(sessionId, at) {
      db.prepare('UPDATE admin_sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, sessionId);
    },
    getSetting: async (key) => getSetting(key),
    async setSetting(key, value) {
      db.prepare('INSERT INTO server_settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
    },
    async setSettingIfAbsent(key, value) {
      db.prepare('INSERT INTO server_settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING').run(key, value);
      return getSetting(key)!;
    },
    async deleteSetting(key) {
      db.prepare('DELETE FROM server_settings WHERE key = ?').run(key);
    },
  };
}
