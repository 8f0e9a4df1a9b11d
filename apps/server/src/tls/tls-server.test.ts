import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChorusError } from '@chorus/core';
import { startServer, type RunningServer } from '../index.js';
import { TestParticipant } from '../transport/test-participant.js';
import { generateTestCertificate, type TestCertificate } from './test-certificate.js';

const PASSWORD = 'tls-test-password-0123';
let dir: string;
let first: TestCertificate;
let second: TestCertificate;
let certPath: string;
let keyPath: string;
let server: RunningServer;
let plain: RunningServer | undefined;
let direct: RunningServer | undefined;
const clients: TestParticipant[] = [];

/** The certificate a fresh TLS handshake gets, as its SHA-256 fingerprint. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

async function signIn(url: string, dispatcher?: Agent, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${url}/api/admin/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ username: 'admin', password: PASSWORD }),
    ...(dispatcher ? { dispatcher } : {}),
  });
  expect(res.status).toBe(200);
  return res.headers.get('set-cookie') ?? '';
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chorus-tls-it-'));
  first = generateTestCertificate({ dir, name: 'first' });
  second = generateTestCertificate({ dir, name: 'second' });
  // The server reads from paths an operator would renew in place.
  certPath = join(dir, 'live.crt');
  keyPath = join(dir, 'live.key');
  copyFileSync(first.certPath, certPath);
  copyFileSync(first.keyPath, keyPath);
  server = await startServer(
    { port: 0, host: '127.0.0.1', db: join(dir, 'tls.sqlite'), dbSync: 'NORMAL', logLevel: 'silent', adminPassword: PASSWORD, tlsCert: certPath, tlsKey: keyPath },
    { evaluate: null },
  );
});

afterAll(async () => {
  for (const c of clients) c.close();
  await server?.close();
  await plain?.close();
  await direct?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the server over TLS', () => {
  it('answers HTTPS with HSTS, signs admins in with a Secure cookie, and takes participants over wss', async () => {
    const trusting = new Agent({ connect: { ca: first.certPem } });

    const health = await fetch(`${server.url}/healthz`, { dispatcher: trusting });
    const cookie = await signIn(server.url, trusting);
    const p = new TestParticipant(server.url, { ca: first.certPem });
    clients.push(p);
    const joined = await p.join('mnist-demo');

    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect(health.headers.get('strict-transport-security')).toBe('max-age=15552000');
    expect(cookie).toMatch(/^chorus_session=[^;]+;/);
    expect(cookie.split(';').map((s) => s.trim())).toContain('Secure');
    expect(joined.ok).toBe(true);
    expect(p.socket.io.engine.transport.name).toBe('websocket');
    await trusting.close();
  });

  it('refuses a client that does not trust the certificate', async () => {
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  it('serves a renewed certificate to new connections after a reload, keeping open ones', async () => {
    const p = new TestParticipant(server.url, { ca: first.certPem });
    clients.push(p);
    expect((await p.join('mnist-demo')).ok).toBe(true);
    expect(await servedFingerprint(server.port)).toBe(first.fingerprint256);

    copyFileSync(second.certPath, certPath);
    copyFileSync(second.keyPath, keyPath);
    const result = server.reloadTls();

    expect(result).toEqual({ reloaded: true });
    expect(await servedFingerprint(server.port)).toBe(second.fingerprint256);
    expect(p.socket.connected).toBe(true);
    const renewed = new Agent({ connect: { ca: second.certPem } });
    expect((await fetch(`${server.url}/healthz`, { dispatcher: renewed })).status).toBe(200);
    await renewed.close();
  });

  it('keeps the working certificate when the renewed files are broken', async () => {
    const before = await servedFingerprint(server.port);
    writeFileSync(certPath, 'not a certificate');

    const result = server.reloadTls();

    expect(result.reloaded).toBe(false);
    expect(!result.reloaded && result.reason).toMatch(/^tlsCert, tlsKey: .* are not a usable certificate and key/);
    expect(await servedFingerprint(server.port)).toBe(before);
  });

  it('does not start with a certificate it cannot read, naming the option', async () => {
    const err = await startServer({ port: 0, host: '127.0.0.1', db: ':memory:', logLevel: 'silent', demoTask: false, tlsCert: join(dir, 'missing.crt'), tlsKey: keyPath }, { evaluate: null }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ChorusError);
    expect((err as ChorusError).code).toBe('INVALID_CONFIG');
    expect((err as ChorusError).message).toBe(`tlsCert: cannot read "${join(dir, 'missing.crt')}" (ENOENT)`);
  });
});

describe('behind a trusted TLS-terminating proxy', () => {
  it('sends HSTS and Secure cookies only when the trusted proxy says the visitor used HTTPS', async () => {
    plain = await startServer(
      { port: 0, host: '127.0.0.1', db: join(dir, 'proxied.sqlite'), dbSync: 'NORMAL', logLevel: 'silent', demoTask: false, adminPassword: PASSWORD, trustProxy: ['loopback'], connectionsPerMinute: 1 },
      { evaluate: null },
    );
    const viaHttps = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' };

    const proxied = await fetch(`${plain.url}/healthz`, { headers: viaHttps });
    const direct = await fetch(`${plain.url}/healthz`);
    const proxiedCookie = await signIn(plain.url, undefined, viaHttps);
    const directCookie = await signIn(plain.url);

    expect(plain.url).toMatch(/^http:\/\//);
    expect(proxied.headers.get('strict-transport-security')).toBe('max-age=15552000');
    expect(direct.headers.get('strict-transport-security')).toBeNull();
    expect(proxiedCookie.split(';').map((s) => s.trim())).toContain('Secure');
    expect(directCookie.split(';').map((s) => s.trim())).not.toContain('Secure');
  });

  it('rate-limits participant connections by the visitor address the proxy reports, not by the proxy', async () => {
    const visit = async (ip: string) => {
      const p = new TestParticipant(plain!.url, { headers: { 'x-forwarded-for': ip } });
      clients.push(p);
      return new Promise<string>((resolve) => {
        p.socket.on('connect', () => resolve('connected'));
        p.socket.on('connect_error', (err) => resolve(err.message));
      });
    };

    // One connection a minute per address: two visitors behind the same proxy both get in.
    expect(await visit('203.0.113.1')).toBe('connected');
    expect(await visit('203.0.113.2')).toBe('connected');
    expect(await visit('203.0.113.1')).toMatch(/connections from this address/);
  });

  it('ignores forwarded headers from a peer it was not told to trust', async () => {
    direct = await startServer({ port: 0, host: '127.0.0.1', db: join(dir, 'direct.sqlite'), dbSync: 'NORMAL', logLevel: 'silent', demoTask: false, connectionsPerMinute: 1 }, { evaluate: null });
    const visit = (ip: string) => {
      const p = new TestParticipant(direct!.url, { headers: { 'x-forwarded-for': ip } });
      clients.push(p);
      return new Promise<string>((resolve) => {
        p.socket.on('connect', () => resolve('connected'));
        p.socket.on('connect_error', (err) => resolve(err.message));
      });
    };

    const res = await fetch(`${direct.url}/healthz`, { headers: { 'x-forwarded-proto': 'https' } });

    expect(res.headers.get('strict-transport-security')).toBeNull();
    // A made-up X-Forwarded-For does not buy a fresh rate-limit bucket.
    expect(await visit('203.0.113.1')).toBe('connected');
    expect(await visit('203.0.113.2')).toMatch(/connections from this address/);
  });
});
