import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, fetch } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../index.js';
import { TestParticipant } from '../transport/test-participant.js';
import { generateTestCertificate } from './test-certificate.js';

/**
 * The README's "behind a TLS-terminating proxy" recipe, run for real: nginx (Debian's nginx-light,
 * installed by scripts/ensure-nginx.sh where we may; skipped, saying why, elsewhere) terminates TLS
 * with the README's location block in front of a plain-HTTP server started with trustProxy: ['loopback'].
 */
const nginx = (() => {
  try {
    const script = fileURLToPath(new URL('../../../../scripts/ensure-nginx.sh', import.meta.url));
    return execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 }).trim() || null;
  } catch {
    return null;
  }
})();

const PASSWORD = 'proxy-test-password-0123';
const dir = mkdtempSync(join(tmpdir(), 'chorus-proxy-'));
let server: RunningServer | undefined;
let proxy: ChildProcess | undefined;
const clients: TestParticipant[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** The README's nginx server block, with test ports, files and temporary folders filled in. */
function nginxConfig(listenPort: number, upstreamPort: number, cert: { certPath: string; keyPath: string }): string {
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d), { recursive: true });
  return `
${process.getuid?.() === 0 ? 'user root;' : ''}
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events {}
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${listenPort} ssl;
    server_name localhost;
    ssl_certificate     ${cert.certPath};
    ssl_certificate_key ${cert.keyPath};
    client_max_body_size 40m;

    location / {
      proxy_pass http://127.0.0.1:${upstreamPort};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_read_timeout 1h;
    }
  }
}`;
}

afterAll(async () => {
  for (const c of clients) c.close();
  if (proxy && proxy.exitCode === null) {
    const exited = new Promise((r) => proxy!.once('exit', r));
    proxy.kill('SIGQUIT');
    await exited;
  }
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('behind nginx terminating TLS', () => {
  it.skipIf(!nginx)('serves HTTPS with HSTS, Secure cookies and WSS participants through the README recipe', async () => {
    // Prepare
    const cert = generateTestCertificate({ dir });
    server = await startServer(
      { port: 0, host: '127.0.0.1', db: join(dir, 'proxied.sqlite'), dbSync: 'NORMAL', logLevel: 'silent', adminPassword: PASSWORD, trustProxy: ['loopback'] },
      { evaluate: null },
    );
    const port = await freePort();
    writeFileSync(join(dir, 'nginx.conf'), nginxConfig(port, server.port, cert));
    let log = '';
    proxy = spawn(nginx!, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    proxy.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const url = `https://127.0.0.1:${port}`;
    const trusting = new Agent({ connect: { ca: cert.certPem } });
    const until = Date.now() + 10_000;
    for (;;) {
      const up = await fetch(`${url}/healthz`, { dispatcher: trusting }).then((r) => r.ok, () => false);
      if (up) break;
      if (Date.now() > until || proxy.exitCode !== null) throw new Error(`nginx did not start: ${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    // Execute
    const health = await fetch(`${url}/healthz`, { dispatcher: trusting });
    const signIn = await fetch(`${url}/api/admin/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: PASSWORD }),
      dispatcher: trusting,
    });
    const p = new TestParticipant(url, { ca: cert.certPem });
    clients.push(p);
    const joined = await p.join('mnist-demo');

    // Assert
    expect(health.headers.get('strict-transport-security')).toBe('max-age=15552000');
    expect(signIn.status).toBe(200);
    expect((signIn.headers.get('set-cookie') ?? '').split(';').map((s) => s.trim())).toContain('Secure');
    expect(joined.ok).toBe(true);
    expect(p.socket.io.engine.transport.name).toBe('websocket');
    await trusting.close();
  });
});
