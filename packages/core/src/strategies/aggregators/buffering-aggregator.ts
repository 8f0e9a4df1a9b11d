import type { AggregateResult, AddOutcome, ClientUpdate, RoundAggregator, RoundContext } from '../strategy.js';

/** What a buffering rule returns from all of a round's decoded updates. */
export interface BufferedResult {
  readonly delta: Float32Array;
  readonly metrics?: Readonly<Record<string, number>>;
  readonly notes?: ReadonlyMap<string, string>;
}

/** `numExamples[i]` is what client i declared (bounded by the server); robust rules ignore it unless told to weight. */
export type BufferedRule = (vectors: readonly Float32Array[], participantIds: readonly string[], numExamples: readonly number[]) => BufferedResult;

/**
 * Holds every decoded update until the round ends (O(model × clients) memory): median, trimmed mean
 * and Krum need all of them at once. Updates are decoded on arrival so the encoded bytes can go.
 */
export function createBufferingAggregator(ctx: RoundContext, rule: BufferedRule): RoundAggregator {
  const vectors: Float32Array[] = [];
  const participantIds: string[] = [];
  const numExamples: number[] = [];
  const seen = new Set<string>();
  const expected = ctx.global.length;

  return {
    streaming: false,
    add(u: ClientUpdate): AddOutcome {
      if (seen.has(u.participantId)) {
        return { status: 'rejected', code: 'DUPLICATE_UPDATE', reason: `client ${u.participantId} already sent an update this round` };
      }
      if (u.update.length !== expected) {
        return { status: 'rejected', code: 'SHAPE_MISMATCH', reason: `update has ${u.update.length} values; the model has ${expected}` };
      }
      const v = u.update.decode();
      for (let i = 0; i < v.length; i++) {
        if (!Number.isFinite(v[i]!)) return { status: 'rejected', code: 'NON_FINITE', reason: `update value #${i} is not finite` };
      }
      seen.add(u.participantId);
      vectors.push(v);
      participantIds.push(u.participantId);
      numExamples.push(u.numExamples);
      return { status: 'accepted' };
    },
    finish(): AggregateResult | null {
      if (vectors.length === 0) return null;
      const r = rule(vectors, participantIds, numExamples);
      return { delta: r.delta, metrics: { clients: vectors.length, ...r.metrics }, ...(r.notes && r.notes.size > 0 ? { notes: r.notes } : {}) };
    },
  };
}
