import {
  ChorusError,
  PROTOCOL_VERSION,
  describeZodError,
  modelUpdatedSchema,
  roundCancelSchema,
  roundInviteSchema,
  taskStatusSchema,
  type Capabilities,
  type JoinResponse,
  type RandomSource,
} from '@chorus/core';
import { abortError, sleep, backoffDelay } from './backoff.js';
import { createMemoryModelCache, type ModelCache } from './model-cache.js';
import { createMemoryResidualStore, type ResidualStore } from './residual-store.js';
import { createMemoryPersonalLayerStore, type PersonalLayerStore } from './personal-layer-store.js';
import { runRound, type RoundTrainer } from './round-runner.js';
import { createLocalSecureComputation } from './secure-computation.js';
import { createSecureRoundClient, type SecureRoundClient } from './secure-round-client.js';
import { SessionEmitter, type SessionEventMap, type SessionListener, type SessionStatus } from './session-events.js';
import { defaultSocketFactory, request, type SessionSocket, type SocketFactory } from './session-socket.js';
import type { FetchLike } from './weights-download.js';

export interface ParticipantSessionOptions {
  /** Base URL of the aggregation server, e.g. "http://localhost:8080". */
  readonly serverUrl: string;
  readonly taskId: string;
  /** Identity from an earlier session (e.g. kept in storage) to resume as the same participant. */
  readonly participantId?: string;
  /** Signed participant token, when the server issues them. */
  readonly token?: string;
  readonly capabilities: Capabilities;
  readonly trainer: RoundTrainer;
  /** Randomness for the codec's stochastic rounding. @default Math.random */
  readonly random?: RandomSource;
  /** @default socket.io-client over WebSocket with reconnection backoff */
  readonly socketFactory?: SocketFactory;
  /** @default in-memory, last 2 versions */
  readonly modelCache?: ModelCache;
  /** Where error feedback keeps what a biased codec (top-k) did not send. @default in memory */
  readonly residualStore?: ResidualStore;
  /** Where a personalized task's personal layers are kept. @default in memory */
  readonly personalStore?: PersonalLayerStore;
  /** @default globalThis.fetch */
  readonly fetch?: FetchLike;
  /** How long to wait for each acknowledgement. @default 15_000 */
  readonly ackTimeoutMs?: number;
  /** Upload chunk size cap; the server's maxChunkBytes also applies. @default 256 KiB */
  readonly maxChunkBytes?: number;
  /** Attempts for downloads, uploads and joins that fail with a retryable error. @default 4 */
  readonly retryAttempts?: number;
  /** start() rejects if no join succeeds within this time. @default 30_000 */
  readonly connectTimeoutMs?: number;
}

export interface SessionStats {
  /** Update payload bytes acknowledged by the server (Socket.IO framing not counted). */
  readonly bytesUp: number;
  /** Model bytes downloaded over HTTP as they crossed the network (compressed, when the server compressed them). */
  readonly bytesDown: number;
  readonly roundsJoined: number;
  /** Rounds whose update the server accepted. */
  readonly roundsCompleted: number;
  readonly roundsFailed: number;
  /** Whole models downloaded, versions rebuilt from differences, and copies refused for a hash that disagreed. */
  readonly fullDownloads: number;
  readonly deltaDownloads: number;
  readonly nearDownloads: number;
  readonly seededModels: number;
  readonly driftFallbacks: number;
}

export interface ParticipantSession {
  /** Connects and resolves with the first join response; rejoins by itself after reconnects. */
  start(): Promise<JoinResponse>;
  readonly participantId: string | undefined;
  readonly joinInfo: JoinResponse | undefined;
  readonly status: SessionStatus;
  readonly stats: SessionStats;
  on<K extends keyof SessionEventMap>(event: K, listener: SessionListener<K>): () => void;
  updateCapabilities(capabilities: Capabilities): Promise<void>;
  /** Aborts any round in progress, disconnects and removes listeners. */
  close(): Promise<void>;
}

export function createParticipantSession(options: ParticipantSessionOptions): ParticipantSession {
  if (!options.serverUrl) throw new ChorusError('INVALID_CONFIG', 'serverUrl: required');
  if (!options.taskId) throw new ChorusError('INVALID_CONFIG', 'taskId: required');
  const ackTimeoutMs = options.ackTimeoutMs ?? 15_000;
  const attempts = options.retryAttempts ?? 4;
  const cache = options.modelCache ?? createMemoryModelCache();
  const residuals = options.residualStore ?? createMemoryResidualStore();
  const personalStore = options.personalStore ?? createMemoryPersonalLayerStore();
  const fetchImpl: FetchLike = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
  const emitter = new SessionEmitter();
  const stats = { bytesUp: 0, bytesDown: 0, roundsJoined: 0, roundsCompleted: 0, roundsFailed: 0, fullDownloads: 0, deltaDownloads: 0, nearDownloads: 0, seededModels: 0, driftFallbacks: 0 };

  let socket: SessionSocket | undefined;
  let participantId = options.participantId;
  let token = options.token;
  let capabilities = options.capabilities;
  let joinInfo: JoinResponse | undefined;
  let joined = false;
  let closed = false;
  let status: SessionStatus = 'idle';
  let current: { roundId: string; controller: AbortController; done: Promise<void>; secure?: SecureRoundClient | undefined } | undefined;
  /** The latest secure round's participant side (it ignores messages for other rounds). */
  let secureRound: SecureRoundClient | undefined;
  const joinWaiters = new Set<() => void>();
  const lifetime = new AbortController();
  const maxChunkBytes = (): number => Math.min(options.maxChunkBytes ?? 256 * 1024, joinInfo?.maxChunkBytes ?? Infinity);
  // The trainer's own (the browser's worker) keeps keys and the update off this thread.
  const secureComputation = options.trainer.secure ?? createLocalSecureComputation();

  const setStatus = (next: SessionStatus): void => {
    if (status === next || (status === 'closed' && next !== 'closed')) return;
    status = next;
    emitter.emit('status', next);
  };

  const waitJoined = (signal: AbortSignal): Promise<void> => {
    if (joined && socket?.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        joinWaiters.delete(done);
        reject(abortError(signal));
      };
      const done = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      if (signal.aborted) return onAbort();
      joinWaiters.add(done);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  };

  /** Join (or re-join after a reconnect) keeping the participant id; retries what is retryable. */
  const join = async (): Promise<void> => {
    for (let attempt = 0; !closed && socket?.connected; attempt++) {
      try {
        const response = await request(
          socket,
          'join',
          { protocolVersion: PROTOCOL_VERSION, taskId: options.taskId, participantId, ...(token ? { token } : {}), capabilities },
          ackTimeoutMs,
        );
        participantId = response.participantId;
        // The server binds its signed token to our id: present it on every re-join.
        if (response.token) token = response.token;
        joinInfo = response;
        joined = true;
        if (!current) setStatus('joined');
        emitter.emit('joined', response);
        for (const w of [...joinWaiters]) w();
        joinWaiters.clear();
        return;
      } catch (raw) {
        const err = ChorusError.from(raw);
        if (err.code === 'UNAUTHORIZED' && token !== undefined && !closed) {
          // The server no longer honours our token (spent by a copy, revoked, or signed with an old
          // secret): drop the identity and join as a new participant.
          token = undefined;
          participantId = undefined;
          continue;
        }
        emitter.emit('error', err);
        if (!err.retryable || closed) {
          startFailure?.(err);
          return;
        }
        await sleep(backoffDelay(attempt, { maxMs: 10_000 }), lifetime.signal).catch(() => undefined);
      }
    }
  };
  let startFailure: ((err: ChorusError) => void) | undefined;

  const onInvite = (raw: unknown): void => {
    const parsed = roundInviteSchema.safeParse(raw);
    if (!parsed.success) {
      emitter.emit('error', new ChorusError('BAD_REQUEST', `ignored a malformed ${describeZodError(parsed.error, 'round:invite')}`));
      return;
    }
    const invite = parsed.data;
    if (current?.roundId === invite.roundId) return; // re-sent after a rejoin: already on it
    current?.controller.abort(new ChorusError('ROUND_CLOSED', `round ${current.roundId} superseded by ${invite.roundId}`));
    const controller = new AbortController();
    stats.roundsJoined++;
    emitter.emit('roundJoined', invite);
    const secure: SecureRoundClient | undefined = invite.secureAggregation
      ? createSecureRoundClient(invite, { socket: () => socket!, computation: secureComputation, ackTimeoutMs, maxChunkBytes, onError: (e) => emitter.emit('error', e) })
      : undefined;
    if (secure) controller.signal.addEventListener('abort', () => secure.close());
    // Kept past the round's settling: the unmasking request comes after the masked update is sent.
    secureRound = secure;
    const round = {
      roundId: invite.roundId,
      controller,
      secure,
      done: runRound(invite, {
        socket: () => socket!,
        waitJoined,
        trainer: options.trainer,
        cache,
        residuals,
        fetch: fetchImpl,
        serverUrl: options.serverUrl,
        random: options.random ?? Math.random,
        ackTimeoutMs,
        maxChunkBytes,
        attempts,
        signal: controller.signal,
        emitter,
        setStatus,
        settle: () => {
          if (current !== round) return;
          current = undefined;
          setStatus(joined ? 'joined' : 'disconnected');
        },
        stats,
        localDp: () => joinInfo?.task.privacy?.localDp,
        differentiallyPrivate: () => joinInfo?.task.privacy?.localDp !== undefined || joinInfo?.task.privacy?.central !== undefined,
        personalization: () => joinInfo?.task.personalization,
        personalStore,
        ...(secure ? { secure } : {}),
      }),
    };
    current = round;
  };

  const handlers: Record<string, (...args: any[]) => void> = {
    connect: () => {
      setStatus(current ? status : 'connecting');
      void join();
    },
    disconnect: () => {
      joined = false;
      if (!closed) setStatus('disconnected');
    },
    connect_error: () => {
      if (!closed && !current) setStatus('connecting');
    },
    'round:invite': onInvite,
    'secagg:next': (raw: unknown) => secureRound?.receive(raw),
    'round:cancel': (raw: unknown) => {
      const msg = roundCancelSchema.safeParse(raw);
      if (!msg.success) return;
      if (current?.roundId === msg.data.roundId) {
        current.controller.abort(new ChorusError('ROUND_CLOSED', `the server cancelled round ${msg.data.roundId}: ${msg.data.reason}`));
      }
      emitter.emit('roundCancelled', msg.data);
    },
    'model:updated': (raw: unknown) => {
      const msg = modelUpdatedSchema.safeParse(raw);
      if (msg.success) emitter.emit('modelUpdated', msg.data);
    },
    'task:status': (raw: unknown) => {
      const msg = taskStatusSchema.safeParse(raw);
      if (msg.success) emitter.emit('taskStatus', msg.data);
    },
  };

  return {
    start() {
      if (closed) return Promise.reject(new ChorusError('UNAVAILABLE', 'start: the session is closed'));
      if (socket) return joinInfo ? Promise.resolve(joinInfo) : waitJoined(lifetime.signal).then(() => joinInfo!);
      socket = (options.socketFactory ?? defaultSocketFactory)(options.serverUrl);
      for (const [event, handler] of Object.entries(handlers)) socket.on(event, handler);
      setStatus('connecting');
      const timeoutMs = options.connectTimeoutMs ?? 30_000;
      const first = new Promise<JoinResponse>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new ChorusError('TIMEOUT', `start: could not join task "${options.taskId}" at ${options.serverUrl} within ${timeoutMs} ms`));
        }, timeoutMs);
        startFailure = (err) => {
          clearTimeout(timer);
          reject(err);
        };
        waitJoined(lifetime.signal).then(
          () => {
            clearTimeout(timer);
            startFailure = undefined;
            resolve(joinInfo!);
          },
          (err: unknown) => {
            clearTimeout(timer);
            reject(ChorusError.from(err));
          },
        );
      });
      socket.connect();
      return first;
    },
    get participantId() {
      return participantId;
    },
    get joinInfo() {
      return joinInfo;
    },
    get status() {
      return status;
    },
    get stats() {
      return { ...stats };
    },
    on: (event, listener) => emitter.on(event, listener),
    async updateCapabilities(next) {
      capabilities = next;
      if (socket && joined) await request(socket, 'capabilities', { taskId: options.taskId, capabilities: next }, ackTimeoutMs);
    },
    async close() {
      if (closed) return;
      closed = true;
      const closing = new ChorusError('UNAVAILABLE', 'the participant session was closed');
      lifetime.abort(closing);
      const round = current;
      round?.controller.abort(closing);
      // A trainer that ignores its signal must not hold close() hostage.
      if (round) await Promise.race([round.done, sleep(5_000)]);
      if (socket) {
        for (const [event, handler] of Object.entries(handlers)) socket.off(event, handler);
        socket.disconnect();
      }
      joined = false;
      setStatus('closed');
      emitter.removeAll();
    },
  };
}
