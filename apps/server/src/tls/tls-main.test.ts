import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { generateTestCertificate } from './test-certificate.js';

const ROOT = resolve(import.meta.dirname, '../../../..');
const dir = mkdtempSync(join(tmpdir(), 'chorus-tls-main-'));
const children: ChildProcess[] = [];

/** `node --import tsx apps/server/src/main.ts …` as `npm start` runs it; resolves on exit or on the "listening" log line. */
function startMain(args: string[]): { child: ChildProcess; listening: Promise<string>; exited: Promise<{ code: number | null; output: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/server/src/main.ts', '--port', '0', '--host', '127.0.0.1', '--db', join(dir, 'main.sqlite'), '--no-evaluate', '--no-demo-task', ...args], {
    cwd: ROOT,
    env: { ...process.env, CHORUS_LOG_LEVEL: 'info', CHORUS_DB_SYNC: 'NORMAL' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  const listening = new Promise<string>((ok, fail) => {
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      const m = /"url":"(https?:\/\/[^"]+)"[^\n]*chorus server listening/.exec(output);
      if (m) ok(m[1]!);
    });
    child.on('exit', () => fail(new Error(`server exited:\n${output}`)));
  });
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; output: string }>((ok) => child.on('exit', (code) => ok({ code, output })));
  listening.catch(() => undefined);
  return { child, listening, exited };
}

function servedFingerprint(port: number): Promise<string> {
  return new Promise((ok, fail) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      ok(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', fail);
  });
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('chorus-server with --tls-cert and --tls-key', () => {
  it('stops at start-up with a message naming the option when the key cannot be read', async () => {
    const cert = generateTestCertificate({ dir, name: 'lonely' });

    const { code, output } = await startMain(['--tls-cert', cert.certPath, '--tls-key', join(dir, 'nope.key')]).exited;

    expect(code).toBe(2);
    expect(output).toContain(`chorus-server: tlsKey: cannot read "${join(dir, 'nope.key')}" (ENOENT)`);
  });

  it('serves HTTPS and swaps to the renewed certificate on SIGHUP', async () => {
    const first = generateTestCertificate({ dir, name: 'first' });
    const second = generateTestCertificate({ dir, name: 'second' });
    const certPath = join(dir, 'live.crt');
    const keyPath = join(dir, 'live.key');
    copyFileSync(first.certPath, certPath);
    copyFileSync(first.keyPath, keyPath);
    const { child, listening } = startMain(['--tls-cert', certPath, '--tls-key', keyPath]);
    const url = await listening;
    const port = Number(new URL(url).port);
    expect(url).toMatch(/^https:\/\//);
    expect(await servedFingerprint(port)).toBe(first.fingerprint256);

    copyFileSync(second.certPath, certPath);
    copyFileSync(second.keyPath, keyPath);
    child.kill('SIGHUP');

    const until = Date.now() + 10_000;
    let served = '';
    while (Date.now() < until && (served = await servedFingerprint(port)) !== second.fingerprint256) await new Promise((r) => setTimeout(r, 100));
    expect(served).toBe(second.fingerprint256);
    expect(child.exitCode).toBeNull();
    child.kill('SIGTERM');
    expect(await new Promise((r) => child.once('exit', r))).toBe(0);
  });
});
