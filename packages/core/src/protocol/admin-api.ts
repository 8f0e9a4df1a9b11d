import type { ClientFailure } from '../strategies/strategy.js';

/**
 * Shapes the admin HTTP API and live feed answer with: the server stores and sends them, the
 * console reads them. One definition, so the two cannot drift apart.
 */

export type RoundState = 'collecting' | 'committed' | 'abandoned';

/** One round of a task as `GET /api/tasks/:id/rounds` lists it. */
export interface RoundRecord {
  readonly round: number;
  /** The global version clients trained on. */
  readonly version: number;
  readonly state: RoundState;
  readonly startedAt: number;
  readonly closedAt: number | null;
  /** Clients invited (after over-selection). */
  readonly selected: number;
  /** Accepted updates. */
  readonly participants: number;
  readonly failures: readonly ClientFailure[];
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly metrics: Readonly<Record<string, number>>;
  readonly abandonReason: string | null;
}

/**
 * A partner key lets one site embed Chorus tasks through the script tag: which origins may embed,
 * which tasks, and how many distinct visitors a day may contribute through it.
 */
export interface PartnerKeyRecord {
  /** `pk_…`; public (it sits in the partner's HTML), so it grants nothing without a matching origin. */
  readonly id: string;
  readonly name: string;
  /**
   * Exact origins ("https://news.example.com") or a port wildcard ("http://localhost:*").
   * Paths and other wildcards are not accepted.
   */
  readonly allowedOrigins: readonly string[];
  /** Task ids, or ["*"] for every task. */
  readonly allowedTasks: readonly string[];
  /** Distinct visitors per UTC day; 0 = no limit. */
  readonly quotaPerDay: number;
  readonly active: boolean;
  /**
   * What a visit does when the browser keeps Chorus's frame from storing anything (third-party
   * storage blocked): 'memory' trains from memory (nothing kept after the tab closes), 'link' says
   * why it cannot run here and links to the Chorus participant page. @default 'memory'
   */
  readonly storageFallback: StorageFallback;
}

export const STORAGE_FALLBACKS = ['memory', 'link'] as const;
export type StorageFallback = (typeof STORAGE_FALLBACKS)[number];

export interface PartnerKeyUsage {
  /** Distinct participants who joined through the key on the given UTC day. */
  readonly participantsToday: number;
  readonly participantsAllTime: number;
  /** Accepted model updates from participants who came through the key. */
  readonly updatesToday: number;
  readonly updatesAllTime: number;
}

/** A partner key as `GET /api/partner-keys` lists it. */
export type PartnerKeyWithUsage = PartnerKeyRecord & { readonly usage: PartnerKeyUsage };
