import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChorusError } from '@chorus/core';
import { SqliteStorage } from '../storage/sqlite-storage.js';
import { AdminAuth } from './admin-auth.js';

const PASSWORD = 'owner-password-1';
let sqlite: SqliteStorage;
const waits: number[] = [];

/** A fresh throttle per test: the auth object owns it. Delays are recorded, not slept. */
const createAuth = (): Promise<AdminAuth> =>
  AdminAuth.create(sqlite.auth, { sessionTtlMs: 60_000, logger: pino({ level: 'silent' }), throttle: { sleep: async (ms) => void waits.push(ms) } });

async function attempt(auth: AdminAuth, ip: string, username: string, password: string): Promise<string> {
  try {
    await auth.login(username, password, ip);
    return 'ok';
  } catch (err) {
    return (err as ChorusError).code;
  }
}

beforeAll(async () => {
  sqlite = new SqliteStorage({ path: ':memory:', synchronous: 'NORMAL' });
  const auth = await AdminAuth.create(sqlite.auth, { adminPassword: PASSWORD, sessionTtlMs: 60_000, logger: pino({ level: 'silent' }) });
  await auth.bootstrap();
});

afterAll(async () => {
  await sqlite.close();
});

describe('login throttling', () => {
  it('refuses a guesser at its own address but lets the owner in from theirs', async () => {
    // Prepare
    const auth = await createAuth();
    waits.length = 0;

    // Execute
    const guesses: string[] = [];
    for (let i = 0; i < 8; i++) guesses.push(await attempt(auth, '203.0.113.66', 'admin', `wrong guess ${i}`));
    const owner = await attempt(auth, '198.51.100.1', 'admin', PASSWORD);
    const guesserWithRightPassword = await attempt(auth, '203.0.113.66', 'admin', PASSWORD);

    // Assert
    expect(guesses).toEqual(['UNAUTHORIZED', 'UNAUTHORIZED', 'UNAUTHORIZED', 'UNAUTHORIZED', 'UNAUTHORIZED', 'RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED']);
    expect(owner).toBe('ok');
    expect(guesserWithRightPassword).toBe('RATE_LIMITED');
  });

  it('slows a guesser spread over many addresses with a doubling, capped delay, never a refusal of the owner', async () => {
    // Prepare
    const auth = await createAuth();
    waits.length = 0;

    // Execute: 8 addresses × 4 wrong passwords each
    const guesses: string[] = [];
    for (let ip = 1; ip <= 8; ip++) for (let i = 0; i < 4; i++) guesses.push(await attempt(auth, `192.0.2.${ip}`, 'admin', `wrong guess ${ip}-${i}`));
    const beforeOwner = waits.length;
    const owner = await attempt(auth, '198.51.100.1', 'admin', PASSWORD);
    const ownerWait = waits.slice(beforeOwner);
    const afterwards = await attempt(auth, '198.51.100.1', 'admin', PASSWORD);

    // Assert
    expect(new Set(guesses)).toEqual(new Set(['UNAUTHORIZED']));
    expect(waits.slice(0, 6)).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(Math.max(...waits)).toBe(10_000);
    expect(owner).toBe('ok');
    expect(ownerWait).toEqual([10_000]);
    expect(afterwards).toBe('ok');
    expect(waits.length).toBe(beforeOwner + 1); // the owner's success ended the delay
  });

  it('caps the attempts one address makes across many usernames', async () => {
    const auth = await createAuth();
    const results: string[] = [];
    for (let i = 0; i < 22; i++) results.push(await attempt(auth, '203.0.113.7', `user${i}`, 'some password'));
    expect(results.slice(0, 20)).toEqual(Array(20).fill('UNAUTHORIZED'));
    expect(results.slice(20)).toEqual(['RATE_LIMITED', 'RATE_LIMITED']);
  });
});
