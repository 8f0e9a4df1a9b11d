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

/**
 * Admin accounts, revocable sessions and server-generated settings. Part of `Storage`
 * (`storage.auth`): every implementation (SQLite, PostgreSQL) provides one.
 */
export interface AuthStore {
  countUsers(): Promise<number>;
  /** Throws BAD_REQUEST when the username is taken. `onlyIfEmpty` makes first-run creation race-free (FORBIDDEN otherwise). */
  createUser(username: string, passwordHash: string, role: Role, createdBy: string | null, at: number, onlyIfEmpty?: boolean): Promise<AdminUser>;
  findByUsername(username: string): Promise<(AdminUser & { passwordHash: string }) | null>;
  getUser(id: string): Promise<AdminUser | null>;
  listUsers(): Promise<AdminUser[]>;
  createSession(userId: string, at: number, expiresAt: number): Promise<string>;
  /** The session's user when the session exists, is not revoked and has not expired. */
  sessionUser(sessionId: string, now: number): Promise<AdminUser | null>;
  revokeSession(sessionId: string, at: number): Promise<void>;
  getSetting(key: string): Promise<string | null>;
  setSetting(key: string, value: string): Promise<void>;
  /** Sets the value only when the key has none; returns the value that is stored afterwards (race-free across processes). */
  setSettingIfAbsent(key: string, value: string): Promise<string>;
  deleteSetting(key: string): Promise<void>;
}
