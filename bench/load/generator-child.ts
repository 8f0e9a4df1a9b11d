/**
 * A generator of light participants for `npm run bench -- load`: thousands of real socket.io-client
 * connections in one process, each speaking the participant protocol (join, round:invite, weights
 * download over HTTP, update:begin/chunk/end, round:cancel, model:updated) but with no training: every
 * invite is answered with one valid int8 update precomputed per task. Several of these processes
 * share the machine's cores with the server.
 *
 * Downloads are the requests a browser's session makes (packages/client model-download.ts): nothing
 * for version 0 of a seeded task (rebuilt from the seed) or for the version it already holds, the
 * version's exact difference when it holds the one before, an int8 difference `?from=` when it holds
 * an older one, else the whole model. `fullDownloads` (`--full-downloads`) fetches the whole model
 * on every invite instead: a device with no cache and no seed support, the heaviest case.
 */
import { Agent, get } from 'node:http';
import { io as connect, type Socket } from 'socket.io-client';
/** The longest chain of exact differences a browser fetches (MAX_DELTA_CHAIN in packages/client model-download.ts). */
const MAX_DELTA_CHAIN = 32;
import { PROTOCOL_VERSION, decodePayload, encodePayload, type Ack, type JoinResponse, type ModelUpdated, type RoundInvite, type UpdateChunkResponse, type UpdateReceipt } from '@chorus/core';

export type GeneratorCommand =
  | { type: 'connect'; url: string; count: number; localAddresses: string[]; download: boolean; fullDownloads: boolean }
  | { type: 'join'; taskId: string }
  | { type: 'collect' }
  | { type: 'close' };

export interface RoundStats {
  invited: number;
  firstInviteAt: number;
  accepted: number;
  lastAcceptedAt: number;
  refused: Record<string, number>;
  cancelled: number;
  /** Upload bytes sent for updates that were not accepted (refused or cut short). */
  wastedBytes: number;
  uploadedBytes: number;
  /** Slowest weights download and upload (begin to end ack) of the round, ms. */
  downloadMsMax: number;
  uploadMsMax: number;
  downloadRetries: number;
  /** Differences the server did not have (404), replaced by the whole model as a browser does. */
  wholeModelFallbacks: number;
}

export type GeneratorReport =
  | { type: 'connected'; connected: number; failed: number; errors: string[] }
  | { type: 'joined'; taskId: string; joined: number; failed: number; errors: string[] }
  | { type: 'stats'; rounds: Record<string, RoundStats>; versions: Record<string, { count: number; firstAt: number; lastAt: number }>; connected: number }
  | { type: 'closed' };

const send = (m: GeneratorReport): void => {
  process.send?.(m);
};
const ACK_MS = 120_000;
const CONNECT_CONCURRENCY = 50;
const agent = new Agent({ keepAlive: true, maxSockets: 32 });

interface Light {
  readonly socket: Socket;
  readonly participants: Map<string, string>;
  current: { roundId: string; cancelled: boolean } | null;
  /** From the join acknowledgement. */
  maxChunkBytes: number;
  /** The exact version of each task this device holds (a browser's model cache). */
  readonly held: Map<string, number>;
}

let url = '';
let downloads = true;
let fullDownloads = false;
const lights: Light[] = [];
const payloads = new Map<string, Uint8Array>();
const rounds = new Map<string, RoundStats>();
const versions = new Map<string, { count: number; firstAt: number; lastAt: number }>();

function roundStats(roundId: string): RoundStats {
  let s = rounds.get(roundId);
  if (!s) {
    s = { invited: 0, firstInviteAt: Date.now(), accepted: 0, lastAcceptedAt: 0, refused: {}, cancelled: 0, wastedBytes: 0, uploadedBytes: 0, downloadMsMax: 0, uploadMsMax: 0, downloadRetries: 0, wholeModelFallbacks: 0 };
    rounds.set(roundId, s);
  }
  return s;
}

class HttpError extends Error {
  constructor(readonly status: number, path: string) {
    super(`GET ${path}: HTTP ${status}`);
  }
}

/** GET `path`, each body chunk to `onData`; rejects with HttpError unless the answer is 200. */
function fetchPath(path: string, headers: Record<string, string>, onData: (b: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    get(`${url}${path}`, { agent, headers }, (res) => {
      res.on('data', onData);
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new HttpError(res.statusCode ?? 0, path))));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/**
 * GET `path` with the Accept-Encoding a browser sends (Chromium's), so the server answers with what
 * a browser would get (a brotli copy where that is smaller); the bytes on the wire are counted, not
 * decoded or kept (a light participant trains nothing).
 */
async function download(path: string): Promise<number> {
  let bytes = 0;
  await fetchPath(path, { 'accept-encoding': 'gzip, deflate, br, zstd' }, (b) => (bytes += b.byteLength));
  return bytes;
}

/** The bytes of `path`, for the one download whose content is used (version 0, to build the update). */
async function downloadBytes(path: string): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  await fetchPath(path, {}, (b) => parts.push(b));
  return new Uint8Array(Buffer.concat(parts));
}

/** One valid int8 delta per task: small Gaussian-ish values, far inside the server's norm bound. */
async function payloadFor(taskId: string): Promise<Uint8Array> {
  const ready = payloads.get(taskId);
  if (ready) return ready;
  const { layout, values } = decodePayload(await downloadBytes(`/api/tasks/${taskId}/versions/0/weights`));
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const delta = new Float32Array(values.length);
  for (let i = 0; i < delta.length; i++) delta[i] = (random() + random() + random() - 1.5) * 0.002;
  const bytes = encodePayload({ layout, values: delta }, 'int8', random);
  payloads.set(taskId, bytes);
  return bytes;
}

/** The requests a browser's session makes for an invite's version (see the header): none, one, or a chain of differences. */
function downloadPaths(light: Light, invite: RoundInvite): string[] {
  const versions = `/api/tasks/${invite.taskId}/versions`;
  const whole = [`${versions}/${invite.version}/weights`];
  if (fullDownloads) return whole;
  const held = light.held.get(invite.taskId) ?? (invite.initialWeights ? 0 : undefined);
  if (held === invite.version) return [];
  if (held === undefined || held > invite.version) return whole;
  if (invite.version - held > 1 && invite.weightsSketch) return [`${versions}/${invite.version}/delta?from=${held}`];
  if (invite.version - held > MAX_DELTA_CHAIN) return whole;
  return Array.from({ length: invite.version - held }, (_, i) => `${versions}/${held + i + 1}/delta`);
}

async function withRetries(path: string, state: { cancelled: boolean }, stats: RoundStats): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await download(path);
    } catch (err) {
      if (attempt >= 3 || state.cancelled || (err instanceof HttpError && err.status < 500)) throw err;
      stats.downloadRetries += 1;
      await new Promise((r) => setTimeout(r, 250 * 2 ** attempt * (0.5 + Math.random() / 2)));
    }
  }
}

const ask = <T>(socket: Socket, event: string, payload: unknown): Promise<Ack<T>> => socket.timeout(ACK_MS).emitWithAck(event, payload) as Promise<Ack<T>>;

async function answer(light: Light, invite: RoundInvite, maxChunkBytes: number): Promise<void> {
  const stats = roundStats(invite.roundId);
  stats.invited += 1;
  const state = { roundId: invite.roundId, cancelled: false };
  light.current = state;
  let sent = 0;
  let accepted = false;
  try {
    // What a browser does first: fetch the invited version the cheapest way it can (bytes are read, then dropped).
    const t0 = performance.now();
    const paths = downloads ? downloadPaths(light, invite) : [];
    let exact = !paths.some((p) => p.includes('?from='));
    for (const path of paths) {
      // As the session does: a failed download is retried with backoff (4 attempts in all), and a
      // difference the server does not keep (404) is replaced by the whole model.
      const got = await withRetries(path, state, stats).catch(async (err: unknown) => {
        if (!(err instanceof HttpError && err.status === 404 && path.includes('/delta'))) throw err;
        stats.wholeModelFallbacks += 1;
        exact = true;
        await withRetries(`/api/tasks/${invite.taskId}/versions/${invite.version}/weights`, state, stats);
        return 'whole' as const;
      });
      if (got === 'whole') break;
    }
    // The cache keeps exact versions only: an int8 difference `?from=` is trained from, not kept.
    if (exact) light.held.set(invite.taskId, invite.version);
    stats.downloadMsMax = Math.max(stats.downloadMsMax, Math.round(performance.now() - t0));
    const t1 = performance.now();
    const payload = await payloadFor(invite.taskId);
    if (state.cancelled) return;
    const request = { taskId: invite.taskId, roundId: invite.roundId, version: invite.version, numExamples: 100, byteLength: payload.byteLength, metrics: { loss: 1 } };
    let begin = await ask<{ uploadId: string; maxChunkBytes: number }>(light.socket, 'update:begin', request);
    // As the session does: a retryable refusal (server busy) is retried with backoff until the round is over.
    for (let attempt = 0; !begin.ok && begin.error.retryable && !state.cancelled && attempt < 4; attempt++) {
      await new Promise((r) => setTimeout(r, 250 * 2 ** attempt * (0.5 + Math.random() / 2)));
      if (state.cancelled) return;
      begin = await ask<{ uploadId: string; maxChunkBytes: number }>(light.socket, 'update:begin', request);
    }
    if (!begin.ok) return void (stats.refused[begin.error.code] = (stats.refused[begin.error.code] ?? 0) + 1);
    const step = Math.min(maxChunkBytes, begin.data.maxChunkBytes);
    let receipt: UpdateReceipt | undefined;
    for (let seq = 0, off = 0; off < payload.byteLength; seq++, off += step) {
      // A participant told the round is over stops at once (the session does the same).
      if (state.cancelled) return;
      const data = payload.subarray(off, off + step);
      sent += data.byteLength;
      // As the session does: the last chunk ends the upload, and its ack carries the receipt.
      const last = off + step >= payload.byteLength;
      const chunk = await ask<UpdateChunkResponse>(light.socket, 'update:chunk', { uploadId: begin.data.uploadId, seq, data, ...(last ? { last: true } : {}) });
      if (!chunk.ok) return void (stats.refused[chunk.error.code] = (stats.refused[chunk.error.code] ?? 0) + 1);
      receipt = chunk.data.receipt;
    }
    if (!receipt) return void (stats.refused.NO_RECEIPT = (stats.refused.NO_RECEIPT ?? 0) + 1);
    if (!receipt.accepted) return void (stats.refused[receipt.code ?? 'REJECTED'] = (stats.refused[receipt.code ?? 'REJECTED'] ?? 0) + 1);
    accepted = true;
    stats.uploadMsMax = Math.max(stats.uploadMsMax, Math.round(performance.now() - t1));
    stats.accepted += 1;
    stats.lastAcceptedAt = Date.now();
  } catch (err) {
    const code = err instanceof Error ? err.message.slice(0, 40) : 'error';
    stats.refused[code] = (stats.refused[code] ?? 0) + 1;
  } finally {
    stats.uploadedBytes += sent;
    if (!accepted) stats.wastedBytes += sent;
    if (light.current === state) light.current = null;
  }
}

function open(localAddress: string): Promise<Light> {
  return new Promise((resolve, reject) => {
    const socket = connect(url, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 60_000, localAddress } as Parameters<typeof connect>[1]);
    const light: Light = { socket, participants: new Map(), current: null, maxChunkBytes: 256 * 1024, held: new Map() };
    socket.once('connect', () => resolve(light));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
    socket.on('round:invite', (invite: RoundInvite) => void answer(light, invite, light.maxChunkBytes));
    socket.on('round:cancel', (m: { roundId: string }) => {
      if (light.current?.roundId === m.roundId) {
        light.current.cancelled = true;
        roundStats(m.roundId).cancelled += 1;
      }
    });
    socket.on('model:updated', (m: ModelUpdated) => {
      const key = `${m.taskId}@${m.version}`;
      const now = Date.now();
      const v = versions.get(key) ?? { count: 0, firstAt: now, lastAt: 0 };
      v.count += 1;
      v.lastAt = now;
      versions.set(key, v);
    });
  });
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

process.on('message', (raw) => {
  const cmd = raw as GeneratorCommand;
  void (async () => {
    switch (cmd.type) {
      case 'connect': {
        url = cmd.url;
        downloads = cmd.download;
        fullDownloads = cmd.fullDownloads;
        const errors = new Set<string>();
        let failed = 0;
        await pool(Array.from({ length: cmd.count }, (_, i) => cmd.localAddresses[i % cmd.localAddresses.length]!), CONNECT_CONCURRENCY, async (addr) => {
          try {
            lights.push(await open(addr));
          } catch (err) {
            failed += 1;
            errors.add(err instanceof Error ? err.message : String(err));
          }
        });
        send({ type: 'connected', connected: lights.length, failed, errors: [...errors].slice(0, 5) });
        return;
      }
      case 'join': {
        await payloadFor(cmd.taskId);
        const errors = new Set<string>();
        let joined = 0;
        let failed = 0;
        await pool(lights, CONNECT_CONCURRENCY, async (light) => {
          const ack = await ask<JoinResponse>(light.socket, 'join', { protocolVersion: PROTOCOL_VERSION, taskId: cmd.taskId, capabilities: { backend: 'wasm', numExamples: 1000 } }).catch((err: unknown) => ({ ok: false as const, error: { code: 'TIMEOUT', message: String(err) } }));
          if (ack.ok) {
            joined += 1;
            light.participants.set(cmd.taskId, ack.data.participantId);
            light.maxChunkBytes = ack.data.maxChunkBytes;
          } else {
            failed += 1;
            errors.add(`${ack.error.code}: ${ack.error.message}`);
          }
        });
        send({ type: 'joined', taskId: cmd.taskId, joined, failed, errors: [...errors].slice(0, 5) });
        return;
      }
      case 'collect':
        send({ type: 'stats', rounds: Object.fromEntries(rounds), versions: Object.fromEntries(versions), connected: lights.filter((l) => l.socket.connected).length });
        return;
      case 'close':
        for (const l of lights) l.socket.close();
        agent.destroy();
        send({ type: 'closed' });
        process.disconnect?.();
        return;
    }
  })().catch((err: unknown) => {
    process.stderr.write(`load generator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
});
