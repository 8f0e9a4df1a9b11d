/**
 * Heap held per idle participant socket (issue 11): the real server (bench/load/server-child.ts,
 * started with --expose-gc) and N light participants in this process that connect over WebSocket
 * and join a task, then sit idle. The server runs a full GC before each reading, so the figure is
 * live heap, not garbage waiting for a collection.
 *
 * Flags (after `npm run bench -- heap`): --connections 2000, --warmup 100 (connected and joined
 * before the baseline, so code compiled on first use and the task's first-member state are not
 * counted per socket), --settle-ms 0 (wait this long after the last join before the second reading:
 * 61000 lets per-connection rate-limit entries expire), --snapshot DIR (write a V8 heap snapshot of
 * the server at both readings, for the DevTools comparison view).
 */
import { join } from 'node:path';
import { io as connect, type Socket } from 'socket.io-client';
import { PROTOCOL_VERSION, type Ack, type JoinResponse } from '@chorus/core';
import { spawn, round1 } from './load.js';
import type { ServerCommand, ServerReport } from './load/server-child.js';

const log = (msg: string): void => void process.stderr.write(`[heap] ${msg}\n`);
const TASK = 'heap-2nn';
const CONCURRENCY = 50;

interface Options {
  connections: number;
  warmup: number;
  settleMs: number;
  snapshot: string | null;
}

function parseFlags(argv: readonly string[]): Options {
  const o: Options = { connections: 2000, warmup: 100, settleMs: 0, snapshot: null };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    if (flag === '--connections') o.connections = Number(value);
    else if (flag === '--warmup') o.warmup = Number(value);
    else if (flag === '--settle-ms') o.settleMs = Number(value);
    else if (flag === '--snapshot') o.snapshot = value ?? null;
    else throw new Error(`unknown flag ${flag}`);
    i++;
  }
  return o;
}

/** One participant: connect (WebSocket only, as browsers do), join, stay. */
function participant(url: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(url, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 60_000 });
    socket.once('connect_error', reject);
    socket.once('connect', () => {
      socket
        .timeout(60_000)
        .emitWithAck('join', { protocolVersion: PROTOCOL_VERSION, taskId: TASK, capabilities: { backend: 'wasm', numExamples: 100 } })
        .then((ack: Ack<JoinResponse>) => (ack.ok ? resolve(socket) : reject(new Error(`join refused: ${ack.error.code} ${ack.error.message}`))), reject);
    });
  });
}

async function connectMany(url: string, count: number, into: Socket[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, count) }, async () => {
      while (next < count) {
        next++;
        into.push(await participant(url));
      }
    }),
  );
}

export async function run(): Promise<Record<string, unknown>> {
  const o = parseFlags(process.argv.slice(3));
  const server = spawn<ServerCommand, ServerReport>('server-child.ts', 'server', ['--expose-gc']);
  const sockets: Socket[] = [];
  try {
    const ready = await server.next('ready', 60_000);
    server.send({ type: 'create', taskId: TASK, template: 'mnist-2nn', targetClients: 10, rounds: 1, deadlineMs: 60_000 });
    await server.next('created', 60_000);
    // The task is never started: no round opens, so the sockets stay idle members.
    await connectMany(ready.url, o.warmup, sockets);
    server.send({ type: 'heap', ...(o.snapshot ? { snapshot: join(o.snapshot, 'before.heapsnapshot') } : {}) });
    const before = await server.next('heap', 120_000);
    log(`baseline with ${o.warmup} participants: heap ${round1(before.heapUsedBytes / 2 ** 20)} MiB`);
    const t0 = performance.now();
    await connectMany(ready.url, o.connections, sockets);
    log(`${o.connections} more connected and joined in ${round1((performance.now() - t0) / 1000)} s`);
    if (o.settleMs > 0) await new Promise((r) => setTimeout(r, o.settleMs));
    server.send({ type: 'heap', ...(o.snapshot ? { snapshot: join(o.snapshot, 'after.heapsnapshot') } : {}) });
    const after = await server.next('heap', 300_000);
    const held = after.connected[TASK] ?? 0;
    log(`with ${held} participants: heap ${round1(after.heapUsedBytes / 2 ** 20)} MiB`);
    if (held !== o.warmup + o.connections) throw new Error(`the server holds ${held} participants, expected ${o.warmup + o.connections}`);
    return {
      connections: o.connections,
      heapPerConnectionKb: round1((after.heapUsedBytes - before.heapUsedBytes) / o.connections / 1024),
      rssPerConnectionKb: round1((after.rssBytes - before.rssBytes) / o.connections / 1024),
      externalPerConnectionKb: round1((after.externalBytes - before.externalBytes) / o.connections / 1024),
      heapUsedMiB: { before: round1(before.heapUsedBytes / 2 ** 20), after: round1(after.heapUsedBytes / 2 ** 20) },
      settleMs: o.settleMs,
      ...(o.snapshot ? { snapshots: [before.snapshot, after.snapshot] } : {}),
    };
  } finally {
    for (const s of sockets) s.close();
    server.send({ type: 'stop' });
    await server.next('stopped', 30_000).catch(() => undefined);
  }
}
