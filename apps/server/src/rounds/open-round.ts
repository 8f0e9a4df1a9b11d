import { MIN_PERSONAL_REPORTS, PERSONAL_METRICS, type ClientFailure, type ClientUpdate, type RoundAggregator, type RoundInvite } from '@chorus/core';
import type { StoredReceipt } from '../storage/storage.js';
import { personalGainMetrics } from './personal-gains.js';
import type { SecureRound } from './secure-round.js';

/** Where one selected client stands in the round. */
export type SelectedStatus = 'invited' | 'submitted' | 'rejected' | 'declined' | 'disconnected';

export interface SelectedClient {
  readonly participantId: string;
  connectionId: string;
  status: SelectedStatus;
}

/** The in-memory facts of the round being collected; persisted when it closes. */
export class OpenRound {
  readonly selected = new Map<string, SelectedClient>();
  readonly receipts: StoredReceipt[] = [];
  /** Failures by participant, so a reconnecting client can clear its DISCONNECTED entry. */
  readonly failures = new Map<string, ClientFailure>();
  accepted = 0;
  examples = 0;
  bytesUp = 0;
  bytesDown = 0;
  /** Example-weighted sums of client-reported training metrics, and how many updates reported each. */
  readonly metricSums = new Map<string, { sum: number; weight: number; count: number }>();
  /** Each accepted client's reported personalGainPp (personalized tasks), reported only as a distribution. */
  readonly personalGains: number[] = [];
  /** Several processes: updates (and their examples) admitted into each other process's partial sum. */
  readonly partials = new Map<string, { count: number; examples: number }>();
  /**
   * Several processes: the uploads each process ('local': this one) last said it is running for
   * this round, and when (clock ms). Held against what the other processes may run at once.
   */
  readonly uploadsInFlight = new Map<string, { readonly count: number; readonly at: number }>();
  /** Partial sums adopted from the round a dead coordinator left open (counted in `accepted`), folded at close. */
  adopted: readonly ClientUpdate[] = [];
  /** The SecAgg+ protocol of a securely aggregated round, once it is open. */
  secure: SecureRound | null = null;

  constructor(
    readonly taskId: string,
    readonly round: number,
    readonly roundId: string,
    readonly version: number,
    readonly startedAt: number,
    readonly invite: RoundInvite,
    readonly aggregator: RoundAggregator,
    participants: readonly { participantId: string; connectionId: string }[],
  ) {
    for (const p of participants) {
      this.selected.set(p.participantId, { ...p, status: 'invited' });
      this.byConnection.set(p.connectionId, p.participantId);
    }
  }

  /**
   * Selected participant by connection. Every other task asks `holdsConnection` for every member it
   * considers when it selects, so a scan of the round here made selection O(connections × round size).
   */
  private readonly byConnection = new Map<string, string>();

  /** A selected participant came back on a new connection (a reloaded page keeps its place). */
  reconnect(participantId: string, connectionId: string): void {
    const c = this.selected.get(participantId);
    if (!c) return;
    c.connectionId = connectionId;
    this.byConnection.set(connectionId, participantId);
  }

  /** Clients still expected to send something. */
  outstanding(): SelectedClient[] {
    return [...this.selected.values()].filter((c) => c.status === 'invited');
  }

  /** True when no selected client can still contribute (all answered, declined or left). */
  settled(): boolean {
    // Asked after every update: stop at the first invited client instead of listing them all
    // (an array of every selected client per update made a 1,000-update round quadratic).
    for (const c of this.selected.values()) if (c.status === 'invited') return false;
    return true;
  }

  holdsConnection(connectionId: string): boolean {
    const pid = this.byConnection.get(connectionId);
    const c = pid === undefined ? undefined : this.selected.get(pid);
    return c !== undefined && c.connectionId === connectionId && c.status === 'invited';
  }

  fail(participantId: string, failure: ClientFailure, status: SelectedStatus): void {
    const c = this.selected.get(participantId);
    if (c) c.status = status;
    this.failures.set(participantId, failure);
  }

  addMetrics(metrics: Readonly<Record<string, number>>, weight: number): void {
    for (const [k, v] of Object.entries(metrics)) {
      const m = this.metricSums.get(k) ?? { sum: 0, weight: 0, count: 0 };
      m.sum += v * weight;
      m.weight += weight;
      m.count += 1;
      this.metricSums.set(k, m);
    }
    if (typeof metrics.personalGainPp === 'number') this.personalGains.push(metrics.personalGainPp);
  }

  /**
   * Round metrics: counts plus example-weighted means of what clients reported (prefixed client_).
   * A personal figure (PERSONAL_METRICS) reported by fewer than MIN_PERSONAL_REPORTS updates is left
   * out: the mean of one participant's held-out accuracy is that participant's accuracy.
   */
  summaryMetrics(): Record<string, number> {
    const out: Record<string, number> = { updates: this.accepted, examples: this.examples };
    for (const [k, m] of this.metricSums) {
      if (m.weight <= 0) continue;
      if (m.count < MIN_PERSONAL_REPORTS && (PERSONAL_METRICS as readonly string[]).includes(k)) continue;
      out[`client_${k}`.slice(0, 64)] = m.sum / m.weight;
    }
    return { ...out, ...personalGainMetrics(this.personalGains) };
  }
}
