import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import type { Logger } from 'pino';
import { ChorusError } from '@chorus/core';
import { ROLES, type AdminUser, type AuthStore, type Role } from './auth-store.js';
import { LoginThrottle, type LoginThrottleOptions } from './login-throttle.js';
import { signSessionToken, verifySessionToken } from './signed-tokens.js';

/** Who is calling: an account with a session, or the configured admin API token (tools, CI). */
export interface Principal {
  readonly kind: 'user' | 'token';
  readonly username: string;
  readonly role: Role;
  readonly userId: string | null;
  readonly sessionId: string | null;
}

export interface AdminAuthOptions {
  /** CHORUS_SECRET: signs sessions and participant tokens; generated and kept in the database when unset. */
  readonly secret?: string;
  /** CHORUS_ADMIN_PASSWORD: creates the operator `admin` on first run. */
  readonly adminPassword?: string;
  /** CHORUS_ADMIN_TOKEN: a static Bearer token with operator rights, for tools. */
  readonly adminToken?: string;
  readonly sessionTtlMs: number;
  readonly throttle?: LoginThrottleOptions;
  readonly logger: Logger;
  readonly now?: () => number;
}

export const USERNAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9._-]{1,63}$/;
export const MIN_PASSWORD_LENGTH = 10;
/** A real hash of an unknown password: unknown usernames cost the same time as wrong passwords. */
const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$QKF3BUPTKVdi7+EBHDrOAQ$thN/4vp6rDmv9Um/Dll9hF7eeuyCTW2D+UZCBw0y1jw';
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

function checkCredentials(username: unknown, password: unknown): { username: string; password: string } {
  if (typeof username !== 'string' || !USERNAME_PATTERN.test(username)) throw new ChorusError('BAD_REQUEST', 'username: 2–64 letters, digits, dots, dashes or underscores');
  if (typeof password !== 'string' || password.length < MIN_PASSWORD_LENGTH || password.length > 1024) {
    throw new ChorusError('BAD_REQUEST', `password: at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  return { username, password };
}

function sameSecret(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(sha256(a)), Buffer.from(sha256(b))];
  return timingSafeEqual(x, y);
}

/** A setup token younger than this, issued by another process of the deployment, is kept rather than replaced. */
const SETUP_TOKEN_SHARED_MS = 60_000;

/** Admin accounts (argon2id), signed revocable sessions, first-run bootstrap and login throttling. */
export class AdminAuth {
  readonly store: AuthStore;
  readonly secret: Uint8Array;
  private readonly throttle: LoginThrottle;
  private readonly now: () => number;

  private constructor(store: AuthStore, secret: string, private readonly options: AdminAuthOptions) {
    this.store = store;
    this.now = options.now ?? Date.now;
    this.throttle = new LoginThrottle(options.throttle);
    this.secret = new TextEncoder().encode(secret);
  }

  /**
   * Without CHORUS_SECRET the secret is generated once and kept in the database; set-if-absent, so
   * processes starting together on one database all end up signing with the same one.
   */
  static async create(store: AuthStore, options: AdminAuthOptions): Promise<AdminAuth> {
    const secret = options.secret ?? (await store.setSettingIfAbsent('secret', randomBytes(32).toString('hex')));
    return new AdminAuth(store, secret, options);
  }

  /**
   * First run: CHORUS_ADMIN_PASSWORD creates `admin` (operator). Without it, a one-time setup token
   * is logged; it is good for one use at /admin/setup and is replaced at every start until used (except
   * within a minute of another process issuing one: processes starting together share one token).
   * Returns the setup token when one was issued.
   */
  async bootstrap(): Promise<string | null> {
    const log = this.options.logger;
    if ((await this.store.countUsers()) > 0) {
      await this.store.deleteSetting('setup_token_sha256');
      return null;
    }
    if (this.options.adminPassword) {
      const { username, password } = checkCredentials('admin', this.options.adminPassword);
      await this.store.createUser(username, await hash(password), 'operator', null, this.now(), true);
      log.info({ username }, 'admin account created from CHORUS_ADMIN_PASSWORD');
      return null;
    }
    // Processes of one deployment starting together would each replace the token, and only the last
    // one logged would work: a token issued moments ago by another process stands (it is in that log).
    const issuedAt = Number((await this.store.getSetting('setup_token_issued_at')) ?? 0);
    if ((await this.store.getSetting('setup_token_sha256')) !== null && this.now() - issuedAt < SETUP_TOKEN_SHARED_MS) {
      log.warn({ path: '/admin/setup' }, 'no admin account yet: another server process issued the one-time setup token moments ago; it is in that process’s log');
      return null;
    }
    const token = randomBytes(24).toString('base64url');
    await this.store.setSetting('setup_token_sha256', sha256(token));
    await this.store.setSetting('setup_token_issued_at', String(this.now()));
    log.warn({ setupToken: token, path: '/admin/setup' }, `no admin account yet: open /admin/setup and enter this one-time setup token: ${token}`);
    return token;
  }

  async needsSetup(): Promise<boolean> {
    return (await this.store.countUsers()) === 0;
  }

  /** Creates the first operator with the one-time setup token; the token is spent either way it succeeds. */
  async setup(setupToken: unknown, username: unknown, password: unknown): Promise<AdminUser> {
    const expected = await this.store.getSetting('setup_token_sha256');
    if (!expected || typeof setupToken !== 'string' || !sameSecret(sha256(setupToken), expected) || !(await this.needsSetup())) {
      throw new ChorusError('FORBIDDEN', 'setup token: not valid (it is printed in the server log at start, and works once)');
    }
    const creds = checkCredentials(username, password);
    const user = await this.store.createUser(creds.username, await hash(creds.password), 'operator', null, this.now(), true);
    await this.store.deleteSetting('setup_token_sha256');
    this.options.logger.info({ username: user.username }, 'first admin account created with the setup token');
    return user;
  }

  async createUser(by: Principal, username: unknown, password: unknown, role: unknown): Promise<AdminUser> {
    if (!ROLES.includes(role as Role)) throw new ChorusError('BAD_REQUEST', `role: expected ${ROLES.join(' or ')}`);
    const creds = checkCredentials(username, password);
    return this.store.createUser(creds.username, await hash(creds.password), role as Role, by.username, this.now());
  }

  async login(username: unknown, password: unknown, ip: string): Promise<{ token: string; user: AdminUser; expiresAt: number }> {
    if (typeof username !== 'string' || typeof password !== 'string' || username.length > 64 || password.length > 1024) {
      throw new ChorusError('BAD_REQUEST', 'username and password are required');
    }
    await this.throttle.begin(ip, username);
    const found = await this.store.findByUsername(username);
    const ok = await verify(found?.passwordHash ?? DUMMY_HASH, password).catch(() => false);
    if (!found || !ok) {
      await this.throttle.failed(username);
      throw new ChorusError('UNAUTHORIZED', 'wrong username or password');
    }
    await this.throttle.succeeded(ip, username);
    const now = this.now();
    const expiresAt = now + this.options.sessionTtlMs;
    const sessionId = await this.store.createSession(found.id, now, expiresAt);
    const { passwordHash: _, ...user } = found;
    return { token: await signSessionToken(this.secret, sessionId, found.id, expiresAt), user, expiresAt };
  }

  async logout(principal: Principal | null): Promise<void> {
    if (principal?.sessionId) await this.store.revokeSession(principal.sessionId, this.now());
  }

  /** A session token (cookie or Bearer) or the admin API token (Bearer) → who it is; null otherwise. */
  async authenticate(token: string | undefined): Promise<Principal | null> {
    if (!token) return null;
    const adminToken = this.options.adminToken;
    if (adminToken && sameSecret(token, adminToken)) return { kind: 'token', username: 'api-token', role: 'operator', userId: null, sessionId: null };
    const claims = await verifySessionToken(this.secret, token);
    if (!claims) return null;
    const user = await this.store.sessionUser(claims.sessionId, this.now());
    if (!user || user.id !== claims.userId) return null;
    return { kind: 'user', username: user.username, role: user.role, userId: user.id, sessionId: claims.sessionId };
  }
}
