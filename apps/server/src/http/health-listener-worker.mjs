// The health port's thread (see health-listener.ts). Plain JavaScript with node:http only: it starts
// without the TypeScript loader and its event loop stays idle, so a probe is answered at once however
// busy the main thread is. The answers are about the main thread: its last turn (a shared clock it
// writes every 100 ms) and its last readiness check (posted every second).
import { createServer } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const { shared, host, port, stallMs, readinessMaxAgeMs } = workerData;
const lastTurn = new BigInt64Array(shared);
let readiness = { ready: false, message: 'readiness not checked yet', at: 0 };

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** The main thread's stall, or null while it turns. */
function stall(now) {
  const age = now - Number(Atomics.load(lastTurn, 0));
  return age > stallMs ? `the server's event loop has not turned for ${age} ms (limit ${stallMs} ms)` : null;
}

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: { code: 'BAD_REQUEST', message: `${req.method} is not allowed here: the health port answers GET /healthz and GET /readyz` } });
  const now = Date.now();
  const stalled = stall(now);
  if (path === '/healthz') {
    if (stalled) return send(res, 503, { error: { code: 'UNAVAILABLE', message: stalled } });
    return send(res, 200, { status: 'ok', eventLoopAgeMs: now - Number(Atomics.load(lastTurn, 0)) });
  }
  if (path === '/readyz') {
    if (stalled) return send(res, 503, { error: { code: 'UNAVAILABLE', message: stalled } });
    if (now - readiness.at > readinessMaxAgeMs) return send(res, 503, { error: { code: 'UNAVAILABLE', message: `readiness not checked for ${now - readiness.at} ms` } });
    if (!readiness.ready) return send(res, 503, { error: { code: 'UNAVAILABLE', message: readiness.message } });
    return send(res, 200, { status: 'ready' });
  }
  return send(res, 404, { error: { code: 'NOT_FOUND', message: `no route ${path} on the health port: it answers GET /healthz and GET /readyz` } });
});
// A probe's connection must not outlive the probe (keep-alive idles would pile up over a day of checks).
server.keepAliveTimeout = 5_000;
server.headersTimeout = 10_000;
server.requestTimeout = 10_000;

parentPort.on('message', (m) => {
  if (m?.type === 'readiness') readiness = { ready: m.ready === true, message: String(m.message ?? ''), at: Number(m.at) };
  else if (m?.type === 'close') {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  }
});
server.once('error', (err) => parentPort.postMessage({ type: 'error', code: err.code ?? null, message: err.message }));
server.listen(port, host, () => parentPort.postMessage({ type: 'listening', port: server.address().port }));
