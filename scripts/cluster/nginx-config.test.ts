import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NGINX_TEMP_DIRS, nginxFrontConfig } from './nginx-config.js';
import { ensureNginx } from './start-cluster.js';

const nginx = (() => {
  try {
    return ensureNginx();
  } catch {
    return null; // no nginx and no way to install it here: the nginx -t case is skipped
  }
})();
const dir = mkdtempSync(join(tmpdir(), 'chorus-nginx-conf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the front’s nginx configuration', () => {
  it('balances by held connections over every process and upgrades WebSockets', () => {
    const conf = nginxFrontConfig({ listenHost: '0.0.0.0', listenPort: 8080, upstreamPorts: [8081, 8082, 8083], dir });

    expect(conf).toContain('listen 0.0.0.0:8080 reuseport;');
    expect(conf.match(/server 127\.0\.0\.1:\d+ /g)).toEqual(['server 127.0.0.1:8081 ', 'server 127.0.0.1:8082 ', 'server 127.0.0.1:8083 ']);
    expect(conf).toMatch(/upstream chorus \{\s+zone chorus 64k;[^\n]*\n\s+least_conn;/);
    expect(conf).toContain('proxy_set_header Upgrade $http_upgrade;');
    expect(conf).toContain('proxy_set_header Connection $connection_upgrade;');
    expect(conf).toContain('proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;');
    expect(conf).toContain('proxy_read_timeout 1h;');
  });

  it('sizes workers for the connections asked for, within the open-file limit', () => {
    const roomy = nginxFrontConfig({ listenHost: '127.0.0.1', listenPort: 1, upstreamPorts: [2], dir, maxConnections: 10_000, workers: 2, fileLimit: 65_536 });
    const tight = nginxFrontConfig({ listenHost: '127.0.0.1', listenPort: 1, upstreamPorts: [2], dir, maxConnections: 50_000, workers: 2, fileLimit: 20_000 });

    // 10,000 proxied connections = 20,000 sockets over 2 workers, plus 1,024 headroom each.
    expect(roomy).toContain('worker_connections 11024;');
    expect(tight).toContain('worker_connections 19936;');
    expect(tight).toContain('worker_rlimit_nofile 20000;');
  });

  it('refuses an empty upstream list', () => {
    expect(() => nginxFrontConfig({ listenHost: '127.0.0.1', listenPort: 1, upstreamPorts: [], dir })).toThrow(/at least one upstream/);
  });

  it.skipIf(!nginx)('is accepted by nginx itself (nginx -t)', () => {
    for (const d of NGINX_TEMP_DIRS) mkdirSync(join(dir, d), { recursive: true });
    const path = join(dir, 'nginx.conf');
    writeFileSync(path, nginxFrontConfig({ listenHost: '127.0.0.1', listenPort: 8080, upstreamPorts: [8081, 8082], dir, asRoot: process.getuid?.() === 0, fileLimit: 1024 }));

    const out = execFileSync(nginx!, ['-t', '-p', dir, '-e', 'stderr', '-c', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

    expect(out).toBe('');
  });
});
