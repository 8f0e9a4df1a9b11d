import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { memoryLimiters, type LimiterFactory } from '../cluster/rate-limiters.js';
import type { Logger } from 'pino';
import type { Server } from 'socket.io';
import { ChorusError, type JoinRequest } from '@chorus/core';
import { originAllowed } from '../http/cors.js';
import type { ParticipantTokenStore } from './participant-token-store.js';
import { signParticipantToken, verifyParticipantToken } from './signed-tokens.js';

export interface ParticipantGuardOptions {
  readonly secret: Uint8Array;
  /** Browser origins allowed to open a participant socket (CHORUS_CORS_ORIGINS). */
  readonly corsOrigins: readonly string[];
  /** New Socket.IO connections per client IP per minute (one IP may be a whole office behind NAT). @default 20000 */
  readonly connectionsPerMinute: number;
  /** Update uploads (update:begin) per participant per minute; per IP it is UPLOADS_PER_IP_FACTOR× this. @default 30 */
  readonly uploadsPerMinute: number;
  /** Refuse a claimed participantId without its signed token (else it is accepted, for older clients). @default false */
  readonly requireToken: boolean;
  /** Joins one connection may send per minute. @default 5 */
  readonly joinsPerConnectionPerMinute: number;
  /** Joins per client IP per minute, over all its connections. @default 20000 */
  readonly joinsPerIpPerMinute: number;
  /** Current token generation of each participant (persisted). */
  readonly tokens: ParticipantTokenStore;
  readonly logger: Logger;
  /** Where limits are counted: memory (one process) or Redis (every process). @default memoryLimiters */
  readonly limiters?: LimiterFactory;
  /** @default Date.now */
  readonly now?: () => number;
}

/** A join as the engine should see it, and the token generation it spends once the engine accepts it. */
export interface JoinClaim {
  readonly request: JoinRequest;
  /** The generation to advance from for request.participantId; null when it has no token row yet. */
  readonly from: number | null;
  /** The connection re-sends a join whose ack it lost: it gets the current token again. */
  readonly resend: boolean;
}

/**
 * Per-IP upload cap as a multiple of the per-participant one. An IP is not a person: 500 uploads in
 * a round from one campus NAT are honest, so the per-IP cap only stops a flood (30/min × 1,000).
 */
const UPLOADS_PER_IP_FACTOR = 1000;

const rateLimited = (what: string, ms: number) =>
  new ChorusError('RATE_LIMITED', `${what}: too many in a minute, try again in ${Math.max(1, Math.ceil(ms / 1000))} s`);

/**
 * Participants have no accounts: a join returns a signed pseudonymous token binding the participant
 * id to the task, and a re-join with that token keeps the identity (a forged or foreign token is
 * refused). Tokens rotate: each join spends the token's generation and returns the next one, so a
 * copy used again (replayed from another machine, or by the owner after a thief used it) is
 * detected; then every token of that participant is revoked and its browser joins afresh.
 * Connections, joins and uploads are rate-limited per IP and per connection or participant, and a
 * browser socket must come from an allowed origin.
 */
export class ParticipantGuard {
  private readonly connections: RateLimiterAbstract;
  private readonly joinsByConnection: RateLimiterAbstract;
  private readonly joinsByIp: RateLimiterAbstract;
  private readonly uploadsByParticipant: RateLimiterAbstract;
  private readonly uploadsByIp: RateLimiterAbstract;

  constructor(private readonly options: ParticipantGuardOptions) {
    const limiter = options.limiters ?? memoryLimiters;
    this.connections = limiter({ keyPrefix: 'conn-ip', points: options.connectionsPerMinute, duration: 60 });
    this.joinsByConnection = limiter({ keyPrefix: 'join-conn', points: options.joinsPerConnectionPerMinute, duration: 60 });
    this.joinsByIp = limiter({ keyPrefix: 'join-ip', points: options.joinsPerIpPerMinute, duration: 60 });
    this.uploadsByParticipant = limiter({ keyPrefix: 'up-pid', points: options.uploadsPerMinute, duration: 60 });
    this.uploadsByIp = limiter({ keyPrefix: 'up-ip', points: options.uploadsPerMinute * UPLOADS_PER_IP_FACTOR, duration: 60 });
  }

  /** Handshake rules for the participant namespace: allowed origin, connection rate per IP. */
  install(io: Server): void {
    io.use((socket, next) => {
      const refuse = (e: ChorusError) => {
        this.options.logger.info({ code: e.code, reason: e.message, ip: socket.handshake.address }, 'participant socket refused');
        next(Object.assign(new Error(e.message), { data: e.toWire() }));
      };
      const origin = socket.handshake.headers.origin;
      if (!originAllowed(this.options.corsOrigins, origin)) return refuse(new ChorusError('FORBIDDEN', `origin ${origin} is not allowed to connect`));
      this.connections.consume(socket.handshake.address).then(
        () => next(),
        (res: { msBeforeNext?: number }) => refuse(rateLimited('connections from this address', res.msBeforeNext ?? 60_000)),
      );
    });
  }

  /** Counts a join against its connection and its IP; RATE_LIMITED once either is used up. */
  async admitJoin(connectionId: string, ip: string): Promise<void> {
    await consume(this.joinsByConnection, connectionId, 'joins on this connection');
    await consume(this.joinsByIp, ip, 'joins from this address');
  }

  /**
   * The join as the engine should see it: the participant id proven by a token of the current
   * generation, or a fresh one. A genuine token of an older generation is a replay.
   */
  async identify(req: JoinRequest, connectionId: string): Promise<JoinClaim> {
    if (req.token !== undefined) {
      const claimed = await verifyParticipantToken(this.options.secret, req.token, req.taskId);
      if (!claimed) throw new ChorusError('UNAUTHORIZED', `token: not a participant token this server issued for task "${req.taskId}"`);
      const { participantId, generation } = claimed;
      if (req.participantId !== undefined && req.participantId !== participantId) throw new ChorusError('FORBIDDEN', 'participantId: does not match the participant token');
      const request = { ...req, participantId };
      const stored = await this.options.tokens.get(req.taskId, participantId);
      if (stored?.revoked) throw new ChorusError('UNAUTHORIZED', 'token: revoked after it was used twice; join without it to get a new identity');
      if (!stored) return { request, from: null, resend: false };
      if (generation === stored.generation) return { request, from: generation, resend: false };
      if (generation === stored.generation - 1 && stored.connectionId === connectionId) return { request, from: stored.generation, resend: true };
      throw await this.replayed(req.taskId, participantId, connectionId);
    }
    if (req.participantId !== undefined && this.options.requireToken) {
      const { participantId: _, ...rest } = req;
      return { request: rest, from: null, resend: false };
    }
    const from = req.participantId === undefined ? null : ((await this.options.tokens.get(req.taskId, req.participantId))?.generation ?? null);
    return { request: req, from, resend: false };
  }

  /** Spends the claim's generation for the participant the engine admitted and signs the next token. */
  async issue(claim: JoinClaim, participantId: string, connectionId: string): Promise<string> {
    const { taskId } = claim.request;
    const same = claim.request.participantId === participantId;
    if (same && claim.resend) return signParticipantToken(this.options.secret, taskId, participantId, claim.from!);
    const from = same ? claim.from : null;
    // Compare-and-set: two joins with the same token race here, and only one may win.
    if (!(await this.options.tokens.advance(taskId, participantId, from, connectionId))) throw await this.replayed(taskId, participantId, connectionId);
    return signParticipantToken(this.options.secret, taskId, participantId, (from ?? 0) + 1);
  }

  private async replayed(taskId: string, participantId: string, connectionId: string): Promise<ChorusError> {
    await this.options.tokens.revoke(taskId, participantId, (this.options.now ?? Date.now)());
    this.options.logger.warn({ taskId, participantId, connection: connectionId }, 'participant token used twice (possibly stolen): all its tokens are revoked');
    return new ChorusError('UNAUTHORIZED', 'token: already used (a copy was replayed); its identity is revoked, join without it to get a new one');
  }

  async admitUpload(ip: string, participantId: string): Promise<void> {
    await consume(this.uploadsByParticipant, participantId, 'updates from this participant');
    await consume(this.uploadsByIp, ip, 'updates from this address');
  }
}

async function consume(limiter: RateLimiterAbstract, key: string, what: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (res) {
    throw rateLimited(what, (res as { msBeforeNext?: number }).msBeforeNext ?? 60_000);
  }
}
