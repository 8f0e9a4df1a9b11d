import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { Logger } from 'pino';
import type { Server } from 'socket.io';
import { ChorusError, type JoinRequest } from '@chorus/core';
import { originAllowed } from '../http/cors.js';
import { signParticipantToken, verifyParticipantToken } from './signed-tokens.js';

export interface ParticipantGuardOptions {
  readonly secret: Uint8Array;
  /** Browser origins allowed to open a participant socket (CHORUS_CORS_ORIGINS). */
  readonly corsOrigins: readonly string[];
  /** New Socket.IO connections per client IP per minute. @default 600 */
  readonly connectionsPerMinute: number;
  /** Update uploads (update:begin) per participant per minute; per IP it is 20× this. @default 30 */
  readonly uploadsPerMinute: number;
  /** Refuse a claimed participantId without its signed token (else it is accepted, for older clients). @default false */
  readonly requireToken: boolean;
  readonly logger: Logger;
}

const rateLimited = (what: string, ms: number) =>
  new ChorusError('RATE_LIMITED', `${what}: too many in a minute, try again in ${Math.max(1, Math.ceil(ms / 1000))} s`);

/**
 * Participants have no accounts: a join returns a signed pseudonymous token binding the participant
 * id to the task, and a re-join with that token keeps the identity (a forged or foreign token is
 * refused). Connections and uploads are rate-limited per IP and per participant, and a browser
 * socket must come from an allowed origin.
 */
export class ParticipantGuard {
  private readonly connections: RateLimiterMemory;
  private readonly uploadsByParticipant: RateLimiterMemory;
  private readonly uploadsByIp: RateLimiterMemory;

  constructor(private readonly options: ParticipantGuardOptions) {
    this.connections = new RateLimiterMemory({ keyPrefix: 'conn-ip', points: options.connectionsPerMinute, duration: 60 });
    this.uploadsByParticipant = new RateLimiterMemory({ keyPrefix: 'up-pid', points: options.uploadsPerMinute, duration: 60 });
    this.uploadsByIp = new RateLimiterMemory({ keyPrefix: 'up-ip', points: options.uploadsPerMinute * 20, duration: 60 });
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

  /** The join as the engine should see it: the participant id proven by the token, or a fresh one. */
  async identify(req: JoinRequest): Promise<JoinRequest> {
    if (req.token !== undefined) {
      const pid = await verifyParticipantToken(this.options.secret, req.token, req.taskId);
      if (!pid) throw new ChorusError('UNAUTHORIZED', `token: not a participant token this server issued for task "${req.taskId}"`);
      if (req.participantId !== undefined && req.participantId !== pid) throw new ChorusError('FORBIDDEN', 'participantId: does not match the participant token');
      return { ...req, participantId: pid };
    }
    if (req.participantId !== undefined && this.options.requireToken) {
      const { participantId: _, ...rest } = req;
      return rest;
    }
    return req;
  }

  issue(taskId: string, participantId: string): Promise<string> {
    return signParticipantToken(this.options.secret, taskId, participantId);
  }

  async admitUpload(ip: string, participantId: string): Promise<void> {
    try {
      await this.uploadsByParticipant.consume(participantId);
    } catch (res) {
      throw rateLimited('updates from this participant', (res as { msBeforeNext?: number }).msBeforeNext ?? 60_000);
    }
    try {
      await this.uploadsByIp.consume(ip);
    } catch (res) {
      throw rateLimited('updates from this address', (res as { msBeforeNext?: number }).msBeforeNext ?? 60_000);
    }
  }
}
