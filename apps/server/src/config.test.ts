import { describe, expect, it } from 'vitest';
import { ChorusError } from '@chorus/core';
import { DEFAULT_CONFIG, loadConfig, resolveConfig } from './config.js';

function errorOf(fn: () => unknown): ChorusError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ChorusError) return err;
    throw err;
  }
  throw new Error('expected a ChorusError');
}

describe('loadConfig', () => {
  it('returns the documented defaults when nothing is set', () => {
    const config = loadConfig([], {});

    expect(config).toEqual(DEFAULT_CONFIG);
    expect(config.port).toBe(8080);
    expect(config.db).toBe('./data/chorus.sqlite');
  });

  it('reads environment variables and lets flags win over them', () => {
    const env = { CHORUS_PORT: '9000', CHORUS_DB: '/tmp/a.sqlite', CHORUS_DEMO_TASK: 'false', CHORUS_CORS_ORIGINS: 'https://a.org, https://b.org', CHORUS_LOG_LEVEL: 'warn' };

    const config = loadConfig(['--port', '0', '--db', '/tmp/b.sqlite', '--no-evaluate'], env);

    expect(config.port).toBe(0);
    expect(config.db).toBe('/tmp/b.sqlite');
    expect(config.demoTask).toBe(false);
    expect(config.evaluate).toBe(false);
    expect(config.corsOrigins).toEqual(['https://a.org', 'https://b.org']);
    expect(config.logLevel).toBe('warn');
  });

  it('names the environment variable and the bad value', () => {
    const err = errorOf(() => loadConfig([], { CHORUS_PORT: 'abc' }));

    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.message).toBe('CHORUS_PORT: expected an integer 0–65535, got "abc"');
  });

  it('names the flag when a flag is out of range', () => {
    expect(errorOf(() => loadConfig(['--port', '70000'], {})).message).toBe('--port: expected an integer 0–65535, got "70000"');
    expect(errorOf(() => loadConfig([], { CHORUS_DEMO_TASK: 'maybe' })).message).toBe('CHORUS_DEMO_TASK: expected true or false, got "maybe"');
    expect(errorOf(() => loadConfig(['--db-sync', 'OFF'], {})).message).toBe('--db-sync: expected NORMAL or FULL, got "OFF"');
  });

  it('takes a postgres:// URL for the database and refuses a malformed one without echoing its password', () => {
    expect(loadConfig(['--db', 'postgres://chorus@db.internal:5432/chorus', '--db-schema', 'site_a'], {})).toMatchObject({ db: 'postgres://chorus@db.internal:5432/chorus', dbSchema: 'site_a' });
    expect(errorOf(() => loadConfig([], { CHORUS_DB: 'postgres://u:hunter2@/x' })).message).toBe(
      'CHORUS_DB: expected a file path, ":memory:" or a postgres://user@host:5432/database URL, got "postgres://u:***@/x"',
    );
    expect(errorOf(() => loadConfig(['--db-schema', 'A-b'], {})).message).toBe('--db-schema: expected a lower-case schema name (letters, digits, _), got "A-b"');
    expect(errorOf(() => resolveConfig({ keepVersions: -1 })).code).toBe('INVALID_CONFIG');
    expect(loadConfig([], { CHORUS_REDIS: 'redis://127.0.0.1:6379', CHORUS_REDIS_PREFIX: 'site-a' })).toMatchObject({ redis: 'redis://127.0.0.1:6379', redisPrefix: 'site-a' });
    expect(errorOf(() => loadConfig(['--redis', 'localhost:6379'], {})).message).toBe('--redis: expected a redis://host:6379 URL, got "localhost:6379"');
  });

  it('rejects an unknown flag with its name', () => {
    const err = errorOf(() => loadConfig(['--prot', '1'], {}));

    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.message).toContain("'--prot'");
  });
});

describe('resolveConfig', () => {
  it('merges a partial config over the defaults', () => {
    const config = resolveConfig({ port: 0, db: ':memory:' });

    expect(config).toEqual({ ...DEFAULT_CONFIG, port: 0, db: ':memory:' });
  });

  it('names the option and value of a bad programmatic config', () => {
    expect(errorOf(() => resolveConfig({ port: -1 })).message).toBe('port: expected an integer 0–65535, got -1');
    expect(errorOf(() => resolveConfig({ maxChunkBytes: 10 })).message).toBe('maxChunkBytes: expected an integer 1024–16777216, got 10');
    expect(errorOf(() => resolveConfig({ nope: 1 } as never)).message).toBe('unknown option nope');
  });
});

describe('TLS and proxy options', () => {
  it('reads the certificate, key, HSTS lifetime and trusted proxies from flags and environment', () => {
    const config = loadConfig(['--tls-cert', '/etc/chorus/cert.pem', '--tls-key', '/etc/chorus/key.pem', '--hsts-max-age', '0'], { CHORUS_TRUST_PROXY: 'loopback, 10.0.0.0/8' });

    expect(config).toMatchObject({ tlsCert: '/etc/chorus/cert.pem', tlsKey: '/etc/chorus/key.pem', hstsMaxAge: 0, trustProxy: ['loopback', '10.0.0.0/8'] });
    expect(loadConfig([], {})).toMatchObject({ hstsMaxAge: 15_552_000, trustProxy: [] });
  });

  it('wants both the certificate and the key, or neither', () => {
    expect(errorOf(() => loadConfig(['--tls-cert', '/etc/chorus/cert.pem'], {})).message).toBe('tlsKey: expected the key file for tlsCert (both or neither), got undefined');
    expect(errorOf(() => resolveConfig({ tlsKey: '/k.pem' })).message).toBe('tlsCert: expected the certificate file for tlsKey (both or neither), got undefined');
  });

  it('names the source of a proxy entry that is not an address, range or keyword', () => {
    expect(errorOf(() => loadConfig(['--trust-proxy', 'loopback,nginx.local'], {})).message).toBe(
      '--trust-proxy: expected a list of proxy addresses, CIDR ranges, loopback, linklocal or uniquelocal, got "loopback,nginx.local"',
    );
    expect(errorOf(() => loadConfig([], { CHORUS_HSTS_MAX_AGE: '-1' })).message).toBe('CHORUS_HSTS_MAX_AGE: expected an integer 0–63072000, got "-1"');
  });
});
