import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { freePort, startProcess, stopProcess, waitForHttp } from './processes.js';
import { webBuildIsFresh } from '../../scripts/web-build.js';
import { REPO_ROOT, WEB_DIR } from './repo.js';

/** Builds the web app (assets + next build) unless a production build newer than its sources is there. */
export function ensureWebBuild(): void {
  const fresh = webBuildIsFresh(WEB_DIR);
  if (fresh && process.env.CHORUS_E2E_REBUILD !== '1') return;
  console.log('e2e: building the web app (next build)…');
  execFileSync('npm', ['run', 'build', '-w', '@chorus/web'], { cwd: REPO_ROOT, stdio: 'inherit', env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' } });
}

export interface E2eWebApp {
  readonly url: string;
  stop(): Promise<void>;
  output(): string;
}

/** `next start` of the production build on a free port, pointed at `serverUrl` and `taskId`; `env` adds to its environment. */
export async function startWebApp(options: { port?: number; serverUrl: string; taskId: string; env?: NodeJS.ProcessEnv }): Promise<E2eWebApp> {
  const port = options.port ?? (await freePort());
  const next = path.join(REPO_ROOT, 'node_modules/next/dist/bin/next');
  const proc: { child: ChildProcess; output: () => string } = startProcess(process.execPath, [next, 'start', '-p', String(port), '-H', '127.0.0.1'], {
    cwd: WEB_DIR,
    env: { ...options.env, NEXT_TELEMETRY_DISABLED: '1', CHORUS_SERVER_URL: options.serverUrl, CHORUS_TASK_ID: options.taskId },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/data/mnist/index.json`, 60_000, proc.child);
  return { url, stop: () => stopProcess(proc.child), output: proc.output };
}
