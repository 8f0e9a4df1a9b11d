import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { ChorusError } from '@chorus/core';

/** `viewer` reads everything in the console; `operator` may also change things (tasks, users). */
export type Role = 'viewer' | 'operator';
export const ROLES: readonly Role[] = ['viewer', 'operator'];

export interface AdminUser {
  readonly id: string;
  readonly username: string;
  readonly role: Role;
  readonly createdAt: number;
  /** Username of the operator who created the account; null for the first one. */
  readonly createdBy: string | null;
}

type UserRow = { id: string; username: string; password_hash: string; role: Role; created_at: number; created_by: string | null };
const toUser = (r: UserRow): AdminUser => ({ id: r.id, username: r.username, role: r.role, createdAt: r.created_at, createdBy: r.created_by });

/** Admin accounts, revocable sessions and server-generated settings (tables from migration 2). */
export class AuthStore {
  constructor(private readonly db: Database.Database) {}

  countUsers(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM admin_users').get() as { n: number }).n;
  }

  /** Throws BAD_REQUEST when the username is taken. `onlyIfEmpty` makes first-run creation race-free. */
  createUser(username: string, passwordHash: string, role: Role, createdBy: string | null, at: number, onlyIfEmpty = false): AdminUser {
    return this.db.transaction(() => {
      if (onlyIfEmpty && this.countUsers() > 0) throw new ChorusError('FORBIDDEN', 'setup is closed: an admin account already exists');
      if (this.findByUsername(username)) throw new ChorusError('BAD_REQUEST', `username: "${username}" is already taken`);
      const id = randomUUID();
      this.db.prepare('INSERT INTO admin_users (id, username, password_hash, role, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)').run(id, username, passwordHash, role, at, createdBy);
      return { id, username, role, createdAt: at, createdBy };
    })();
  }

  findByUsername(username: string): (AdminUser & { passwordHash: string }) | null {
    const r = this.db.prepare('SELECT * FROM admin_users WHERE username = ?').get(username) as UserRow | undefined;
    return r ? { ...toUser(r), passwordHash: r.password_hash } : null;
  }

  getUser(id: string): AdminUser | null {
    const r = this.db.prepare('SELECT * FROM admin_users WHERE id = ?').get(id) as UserRow | undefined;
    return r ? toUser(r) : null;
  }

  listUsers(): AdminUser[] {
    return (this.db.prepare('SELECT * FROM admin_users ORDER BY created_at, username').all() as UserRow[]).map(toUser);
  }

  createSession(userId: string, at: number, expiresAt: number): string {
    const id = randomUUID();
    this.db.prepare('INSERT INTO admin_sessions (id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)').run(id, userId, at, expiresAt);
    return id;
  }

  /** The session's user when the session exists, is not revoked and has not expired. */
  sessionUser(sessionId: string, now: number): AdminUser | null {
    const r = this.db
      .prepare('SELECT u.* FROM admin_sessions s JOIN admin_users u ON u.id = s.user_id WHERE s.id = ? AND s.revoked_at IS NULL AND s.expires_at > ?')
      .get(sessionId, now) as UserRow | undefined;
    return r ? toUser(r) : null;
  }

  revokeSession(sessionId: string, at: number): void {
    this.db.prepare('UPDATE admin_sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, sessionId);
  }

  getSetting(key: string): string | null {
    const r = this.db.prepare('SELECT value FROM server_settings WHERE key = ?').get(key) as { value: string } | undefined;
    return r ? r.value : null;
  }

  setSetting(key: string, value: string): void {
    this.db.prepare('INSERT INTO server_settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  deleteSetting(key: string): void {
    this.db.prepare('DELETE FROM server_settings WHERE key = ?').run(key);
  }
}
