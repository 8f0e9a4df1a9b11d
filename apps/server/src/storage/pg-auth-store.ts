import { randomUUID } from 'node:crypto';
import { ChorusError } from '@chorus/core';
import type { AuthStore } from '../auth/auth-store.js';
import { isUniqueViolation, type PgDb } from './pg-db.js';
import { userFromRow, type UserRow } from './storage-rows.js';

/** Admin accounts, sessions and settings in PostgreSQL (tables from migration 2). */
export function createPgAuthStore(db: PgDb): AuthStore {
  const getSetting = async (key: string): Promise<string | null> => (await db.query<{ value: string }>('SELECT value FROM server_settings WHERE key = $1', [key])).rows[0]?.value ?? null;
  return {
    countUsers: async () => Number((await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM admin_users')).rows[0]!.n),
    async createUser(username, passwordHash, role, createdBy, at, onlyIfEmpty = false) {
      try {
        return await db.tx(async (c) => {
          // Two processes bootstrapping together: the table lock makes count-then-insert one step.
          if (onlyIfEmpty) await c.query('LOCK TABLE admin_users IN SHARE ROW EXCLUSIVE MODE');
          if (onlyIfEmpty && Number((await c.query('SELECT COUNT(*) AS n FROM admin_users')).rows[0].n) > 0) {
            throw new ChorusError('FORBIDDEN', 'setup is closed: an admin account already exists');
          }
          const id = randomUUID();
          await c.query('INSERT INTO admin_users (id, username, password_hash, role, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)', [id, username, passwordHash, role, at, createdBy]);
          return { id, username, role, createdAt: at, createdBy };
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw new ChorusError('BAD_REQUEST', `username: "${username}" is already taken`);
        throw err;
      }
    },
    async findByUsername(username) {
      const r = (await db.query<UserRow>('SELECT * FROM admin_users WHERE username = $1', [username])).rows[0];
      return r ? { ...userFromRow(r), passwordHash: r.password_hash } : null;
    },
    async getUser(id) {
      const r = (await db.query<UserRow>('SELECT * FROM admin_users WHERE id = $1', [id])).rows[0];
      return r ? userFromRow(r) : null;
    },
    listUsers: async () => (await db.query<UserRow>('SELECT * FROM admin_users ORDER BY created_at, username')).rows.map(userFromRow),
    async createSession(userId, at, expiresAt) {
      const id = randomUUID();
      await db.query('INSERT INTO admin_sessions (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)', [id, userId, at, expiresAt]);
      return id;
    },
    async sessionUser(sessionId, now) {
      const r = (await db.query<UserRow>('SELECT u.* FROM admin_sessions s JOIN admin_users u ON u.id = s.user_id WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2', [sessionId, now])).rows[0];
      return r ? userFromRow(r) : null;
    },
    async revokeSession(sessionId, at) {
      await db.query('UPDATE admin_sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, sessionId]);
    },
    getSetting,
    async setSetting(key, value) {
      await db.query('INSERT INTO server_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
    },
    async setSettingIfAbsent(key, value) {
      await db.query('INSERT INTO server_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, value]);
      return (await getSetting(key))!;
    },
    async deleteSetting(key) {
      await db.query('DELETE FROM server_settings WHERE key = $1', [key]);
    },
  };
}
