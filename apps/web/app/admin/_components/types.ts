/** The server's JSON shapes the console reads (see apps/server/README.md). */
export interface TaskSummary {
  readonly id: string;
  readonly name: string;
  readonly status: string;
  readonly phase: string;
  readonly latestVersion: number;
  readonly connected: number;
  readonly currentRound: { round: number; roundId: string; selected: number; accepted: number; startedAt: number; deadline: number } | null;
  readonly config: {
    readonly template?: string;
    /** 'async': FedBuff (no rounds; secure aggregation runs in cohorts of `async.bufferSize`). */
    readonly mode?: 'sync' | 'async';
    readonly async?: { readonly bufferSize: number };
    readonly codec: string;
    readonly strategy: { id: string; options?: Readonly<Record<string, unknown>> };
    readonly privacy?: { readonly localDp?: { readonly clipNorm: number; readonly noiseMultiplier: number } };
    readonly personalization?: { readonly method: string; readonly personalLayers?: readonly string[]; readonly holdoutFraction: number; readonly lambda?: number; readonly chooseByValidation?: boolean };
    readonly secureAggregation?: { readonly neighbours: number; readonly threshold: number; readonly quantizationBits: number; readonly stageDeadlineMs: number };
    readonly rounds: { targetClients: number; minClients: number; deadlineMs: number; maxRounds: number; backends: string[]; minExamples: number };
    readonly training: { localEpochs: number; batchSize: number; learningRate: number };
  };
  readonly createdAt: number;
}

export type { ClientFailure, RoundRecord as RoundRow } from '@chorus/core';

export interface VersionRow {
  readonly version: number;
  readonly round: number;
  readonly metrics: Readonly<Record<string, number>>;
  readonly byteLength: number;
  readonly createdAt: number;
}

export interface Receipt {
  readonly participantId: string;
  readonly bytes: number;
  readonly accepted: boolean;
  readonly code: string | null;
  /** Rejection reason, or a note on an accepted update ("clipped from 3.2 to 1 for DP"). */
  readonly reason: string | null;
  /** L2 norm of the decoded update, when it could be decoded. */
  readonly l2Norm?: number | null;
  readonly at: number;
}

/** Why a round's participants were picked (GET /api/tasks/:id/rounds/:round/selection). */
export interface RoundSelection {
  readonly policy: string;
  readonly reasons: readonly {
    readonly participantId: string;
    readonly kind: 'uniform' | 'exploit' | 'explore' | 'resume';
    readonly utility?: number;
    readonly speed?: number;
    readonly reliability?: number;
    readonly expectedMs?: number;
  }[];
}
