import type { Logger } from 'pino';
import { ChorusError, type Capabilities, type RoundInvite, type SecAggClientMessage, type SecAggResult, type TaskConfig, type UpdateLimits } from '@chorus/core';
import type { Clock, TimerHandle } from './clock.js';
import type { EngineTransport } from './engine-deps.js';
import { openTaskSecureRound } from './task-secure-round.js';
import type { SecureRound } from './secure-round.js';

/** A secure cohort as the async runner sees it: who was invited together, on which version. */
export interface Cohort {
  /** The cohort's round id: its members' assignments carry it, and so does every stage message. */
  readonly roundId: string;
  readonly version: number;
  readonly startedAt: number;
  readonly members: readonly string[];
}

/** What the cohorts need from the async runner, which owns the assignments and the buffer. */
export interface CohortHost {
  readonly clock: Clock;
  readonly log: Logger;
  readonly transport: EngineTransport;
  readonly taskId: string;
  config(): TaskConfig;
  readonly limits: UpdateLimits;
  /** The member's connection while its assignment is still in this cohort (undefined: it left). */
  connectionIn(roundId: string, participantId: string): string | undefined;
  /** The cohort unmasked its sum; it is over (its members are the host's to free). */
  unmasked(cohort: Cohort, result: SecAggResult, survivors: readonly string[]): void;
  /** The cohort ended without a sum (below the threshold, out of time, could not start). */
  abandoned(cohort: Cohort, reason: string): void;
}

interface Running extends Cohort {
  secure: SecureRound | null;
  timer: TimerHandle | null;
}

/**
 * Secure aggregation in the asynchronous mode: the SecAgg+ protocol runs per cohort, at least
 * bufferSize participants invited together on one version under one round id. Several cohorts may
 * be in flight at once (the mode stays asynchronous); each ends exactly once, by unmasking or by
 * being abandoned, and tells the host which. The protocol itself is the synchronous rounds'
 * (`openTaskSecureRound`, `SecureRound`): stage deadlines, dropouts recovered down to the threshold.
 */
export class SecureCohorts {
  private readonly running = new Map<string, Running>();

  constructor(private readonly host: CohortHost) {}

  /**
   * Opens a cohort's protocol and, once it is ready, invites the members still in it with their
   * protocol ids. `invite` is the cohort's invitation (its round id and version).
   */
  start(invite: RoundInvite, members: readonly { readonly participantId: string; readonly capabilities: Capabilities }[], shape: { readonly bound: number; readonly length: number }): Cohort {
    const host = this.host;
    const config = host.config();
    const secure = config.secureAggregation!;
    const c: Running = { roundId: invite.roundId, version: invite.version, startedAt: host.clock.now(), members: members.map((m) => m.participantId), secure: null, timer: null };
    this.running.set(c.roundId, c);
    // The stages end a cohort by their own deadlines; this only makes sure it cannot outlive them.
    c.timer = host.clock.setTimer(() => {
      c.timer = null;
      this.end(c, 'the secure cohort outlived its stage deadlines');
    }, config.rounds.deadlineMs + 4 * secure.stageDeadlineMs);
    openTaskSecureRound({
      roundId: c.roundId,
      participants: members,
      config,
      limits: host.limits,
      bound: shape.bound,
      length: shape.length,
      clock: host.clock,
      log: host.log,
      send: (participantId, event, payload) => {
        const to = host.connectionIn(c.roundId, participantId);
        if (to) host.transport.send(to, 'secagg:next', { taskId: host.taskId, roundId: c.roundId, event, payload });
      },
    }).then(
      (round) => {
        if (this.running.get(c.roundId) !== c) return round.cancel('the cohort ended before its protocol opened');
        c.secure = round;
        for (const p of c.members) {
          const to = host.connectionIn(c.roundId, p);
          if (to) host.transport.send(to, 'round:invite', { ...invite, secureAggregation: { id: round.idOf(p), setup: round.setup } });
          else round.leave(p);
        }
        round.result.then(
          (result) => this.finish(c, result),
          (err: unknown) => this.end(c, ChorusError.from(err).message),
        );
      },
      (err: unknown) => {
        host.log.error({ err, roundId: c.roundId }, 'could not open a secure cohort');
        this.end(c, `secure aggregation could not start: ${ChorusError.from(err).message}`);
      },
    );
    return c;
  }

  /** A member's stage message; returns the masked-input bytes it carried. Refusals are typed errors. */
  message(participantId: string, req: SecAggClientMessage): number {
    const c = this.running.get(req.roundId);
    if (!c?.secure) throw new ChorusError('ROUND_CLOSED', `round "${req.roundId}" is not a secure cohort in progress`);
    if (!this.host.connectionIn(c.roundId, participantId)) throw new ChorusError('NOT_SELECTED', `this participant is not in secure cohort "${req.roundId}"`);
    return c.secure.take(participantId, req);
  }

  /** A member left its cohort (closed its tab, declined): no stage waits for it. */
  leave(roundId: string, participantId: string): void {
    this.running.get(roundId)?.secure?.leave(participantId);
  }

  /** Ends every cohort without a sum (the task paused or stopped, the server shuts down); the host is not called back. */
  cancelAll(reason: string): void {
    for (const c of [...this.running.values()]) {
      this.forget(c);
      c.secure?.cancel(reason);
    }
  }

  private forget(c: Running): boolean {
    if (this.running.get(c.roundId) !== c) return false;
    this.running.delete(c.roundId);
    if (c.timer) this.host.clock.clearTimer(c.timer);
    c.timer = null;
    return true;
  }

  private finish(c: Running, result: SecAggResult): void {
    if (!this.forget(c)) return;
    const survivors = result.included.map((id) => c.secure!.participantIdOf(id)!);
    this.host.log.info({ roundId: c.roundId, included: survivors.length, ...result.report }, 'secure cohort unmasked');
    this.host.unmasked(c, result, survivors);
  }

  private end(c: Running, reason: string): void {
    if (!this.forget(c)) return;
    c.secure?.cancel(reason);
    this.host.log.warn({ roundId: c.roundId, members: c.members.length, reason }, 'secure cohort abandoned');
    this.host.abandoned(c, reason);
  }
}
