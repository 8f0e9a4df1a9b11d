/**
 * `npm start`: the aggregation server and the participant web app together. Builds the web app
 * first when there is no production build newer than its sources (or with --rebuild). Server flags after `--` are passed
 * on (e.g. `npm start -- --port 9000`). SIGINT/SIGTERM go to both; when either exits, the other is
 * stopped and the launcher exits with the first one's status.
 *
 * Environment: CHORUS_PORT (server, default 8080), CHORUS_WEB_PORT (web app, default 3000),
 * CHORUS_SERVER_URL (what browsers use to reach the server, default http://localhost:<CHORUS_PORT>,
 * https:// when the server is given a certificate with --tls-cert or CHORUS_TLS_CERT).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { webBuildIsFresh } from './web-build.js';

const root = path.resolve(import.meta.dirname, '..');
const webDir = path.join(root, 'apps/web');
const args = process.argv.slice(2);
const rebuild = args.includes('--rebuild');
const serverArgs = args.filter((a) => a !== '--rebuild');

function flagValue(name: string): string | undefined {
  const i = serverArgs.indexOf(name);
  return i >= 0 ? serverArgs[i + 1] : serverArgs.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

const serverPort = flagValue('--port') ?? process.env.CHORUS_PORT ?? '8080';
const webPort = process.env.CHORUS_WEB_PORT ?? '3000';
const serverScheme = (flagValue('--tls-cert') ?? process.env.CHORUS_TLS_CERT) ? 'https' : 'http';
const serverUrl = process.env.CHORUS_SERVER_URL ?? `${serverScheme}://localhost:${serverPort}`;
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' };

if (rebuild || !webBuildIsFresh(webDir)) {
  console.log('chorus: building the web app (its sources changed since the last build; `npm start -- --rebuild` forces it)…');
  const build = spawnSync('npm', ['run', 'build', '-w', '@chorus/web'], { cwd: root, stdio: 'inherit', env });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const children: ChildProcess[] = [];
let exiting = false;

function run(name: string, command: string, argv: string[], cwd: string, extraEnv: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(command, argv, { cwd, stdio: 'inherit', env: { ...env, ...extraEnv } });
  children.push(child);
  child.on('exit', (code, signal) => {
    if (!exiting) {
      console.error(`chorus: ${name} exited (${signal ?? `code ${code}`}); stopping the rest`);
      stopAll(signal ? 1 : (code ?? 1));
    }
  });
  return child;
}

function stopAll(exitCode: number, signal: NodeJS.Signals = 'SIGTERM'): void {
  exiting = true;
  const alive = children.filter((c) => c.exitCode === null && c.signalCode === null);
  if (alive.length === 0) process.exit(exitCode);
  let left = alive.length;
  for (const c of alive) {
    c.once('exit', () => {
      if (--left === 0) process.exit(exitCode);
    });
    c.kill(signal);
  }
  // Whatever ignores the signal is not allowed to keep the launcher alive.
  setTimeout(() => {
    for (const c of alive) if (c.exitCode === null) c.kill('SIGKILL');
  }, 10_000).unref();
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => stopAll(0, sig));
// `kill -HUP` on the launcher reaches the server, which re-reads its TLS certificate and key.
process.on('SIGHUP', () => server.kill('SIGHUP'));

const server = run('server', process.execPath, ['--import', 'tsx', 'apps/server/src/main.ts', ...serverArgs], root, { CHORUS_PORT: serverPort });
run('web app', process.execPath, [path.join(root, 'node_modules/next/dist/bin/next'), 'start', '-p', webPort], webDir, { CHORUS_SERVER_URL: serverUrl });
console.log(`chorus: server on ${serverUrl}, participant page on http://localhost:${webPort}`);
