import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, startProcess, stopProcess, waitForHttp } from './processes.js';
import { REPO_ROOT } from './repo.js';

/** Operator token the e2e server accepts (`Authorization: Bearer`), for creating tasks. */
export const E2E_ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';

const ADMIN_HEADERS = { authorization: `Bearer ${E2E_ADMIN_TOKEN}` };

export interface E2eServer {
  readonly url: string;
  readonly port: number;
  /** SIGKILL, as a crash would: no graceful shutdown. */
  kill(): Promise<void>;
  /** Starts again on the same port and database. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  output(): string;
}

/**
 * The real server executable (`apps/server/src/main.ts`) in a child process, on a free port and a
 * fresh database; over HTTPS/WSS when given certificate and key files (the caller makes this
 * process trust them, see e2e/tls.e2e.ts). `demo` keeps the local demo on (the mnist-demo task,
 * the pk_demo key and public/partner-demo.html); it is off otherwise.
 */
export async function startChorusServer(options: { corsOrigin: string; tls?: { certPath: string; keyPath: string }; demo?: boolean }): Promise<E2eServer> {
  const port = await freePort();
  const db = path.join(mkdtempSync(path.join(tmpdir(), 'chorus-e2e-')), 'chorus.sqlite');
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const tlsArgs = options.tls ? ['--tls-cert', options.tls.certPath, '--tls-key', options.tls.keyPath] : [];
  let proc: { child: ChildProcess; output: () => string } | undefined;
  let logs = '';
  const launch = async (): Promise<void> => {
    proc = startProcess(process.execPath, ['--import', 'tsx', 'apps/server/src/main.ts', '--port', String(port), '--host', '127.0.0.1', '--db', db, ...(options.demo ? [] : ['--no-demo-task']), '--cors-origins', options.corsOrigin, '--log-level', 'warn', ...tlsArgs], {
      cwd: REPO_ROOT,
      env: { CHORUS_EVAL_EXAMPLES: '1000', CHORUS_ROUND_RETRY_MS: '500', CHORUS_ADMIN_TOKEN: E2E_ADMIN_TOKEN },
    });
    await waitForHttp(`${url}/readyz`, 60_000, proc.child);
  };
  const collect = () => {
    if (proc) logs += proc.output();
  };
  await launch();
  return {
    url,
    port,
    async kill() {
      if (proc) await stopProcess(proc.child, 'SIGKILL');
      collect();
    },
    async restart() {
      await launch();
    },
    async stop() {
      if (proc) await stopProcess(proc.child);
      collect();
    },
    output: () => logs + (proc?.output() ?? ''),
  };
}

/** Creates and starts a small MNIST task: 3 clients a round, short deadline. */
export async function createTask(serverUrl: string, id: string, rounds: Record<string, unknown> = {}, training: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<void> {
  const res = await fetch(`${serverUrl}/api/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${E2E_ADMIN_TOKEN}` },
    body: JSON.stringify({
      template: 'mnist-2nn',
      start: true,
      config: {
        id,
        name: 'MNIST digits (e2e)',
        data: { kind: 'image', inputShape: [28, 28, 1], numClasses: 10, dataset: 'mnist' },
        codec: 'int8',
        training: { localEpochs: 1, batchSize: 10, learningRate: 0.1, ...training },
        rounds: { targetClients: 3, minClients: 2, minAvailable: 3, overSelection: 1, deadlineMs: 30_000, ...rounds },
        strategy: { id: 'fedavg', options: {} },
        ...extra,
      },
    }),
  });
  if (!res.ok) throw new Error(`creating task ${id} failed: HTTP ${res.status} ${await res.text()}`);
}

export interface VersionRow {
  readonly version: number;
  readonly round?: number;
  readonly metrics?: Record<string, number>;
}

export async function listVersions(serverUrl: string, taskId: string): Promise<VersionRow[]> {
  const res = await fetch(`${serverUrl}/api/tasks/${taskId}/versions`, { headers: ADMIN_HEADERS });
  if (!res.ok) throw new Error(`versions of ${taskId}: HTTP ${res.status}`);
  const body = (await res.json()) as { versions?: VersionRow[] } | VersionRow[];
  return Array.isArray(body) ? body : (body.versions ?? []);
}
