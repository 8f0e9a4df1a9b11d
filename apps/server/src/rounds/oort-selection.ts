import { z } from 'zod';
import { ChorusError, describeZodError } from '@chorus/core';
import type { ParticipantHistory, SelectionReason } from '../storage/selection-records.js';
import type { Selection, SelectionCandidate, SelectionInput, Selector } from './selection-types.js';

export const oortOptionsSchema = z.strictObject({
  /** Share ε of each round given to participants never seen before, at the start. @default 0.9 */
  explorationFactor: z.number().min(0).max(1).default(0.9),
  /** ε is multiplied by this once per round (an asynchronous buffer is one round, however many picks it makes)… @default 0.98 */
  explorationDecay: z.number().min(0).max(1).default(0.98),
  /** …down to this floor. @default 0.2 */
  minExploration: z.number().min(0).max(1).default(0.2),
  /** α of the deadline penalty (T / t)^α on a participant expected to take t > T. @default 2 */
  roundPenalty: z.number().min(0).max(10).default(2),
  /**
   * The preferred round duration T, ms. Without it, T is this quantile of the candidates' expected
   * durations (`durationQuantile`), so the penalty tracks the population. @default derived
   */
  preferredDurationMs: z.number().int().positive().max(86_400_000).optional(),
  /** @default 0.5 */
  durationQuantile: z.number().min(0).max(1).default(0.5),
  /** Participants scoring at least this share of the last exploited pick's score are drawn by score. @default 0.95 */
  cutoff: z.number().min(0).max(1).default(0.95),
  /** Weight of fairness (how rarely a participant was invited) against utility, 0 = pure utility, 1 = round robin. @default 0 */
  fairness: z.number().min(0).max(1).default(0),
  /**
   * Oort's pacer (§4.3): every `pacerWindow` rounds, when the statistical utility the last window's
   * participants reported fell below the window before, T is relaxed by one step, so rounds start
   * short and widen to slower devices as what the fast ones can teach runs out. 0 turns it off. @default 0
   */
  pacerWindow: z.number().int().min(0).max(1000).default(0),
  /** One relaxation: `durationQuantile` + this (at most 1), or `preferredDurationMs` × (1 + this). @default 0.1 */
  pacerStep: z.number().positive().max(1).default(0.1),
  /**
   * Weight of label coverage against a participant's own utility (0 = Oort as published). Above 0,
   * the exploited picks are made one at a time, each the candidate with the most
   *   ((1 − d) × own + d × coverage) × system × reliability,
   * own being its statistical utility not yet covered by the picks before it, coverage the
   * statistical utility it newly covers among all candidates, Σⱼ uⱼ × max(0, sim(i, j) − coveredⱼ)
   * (facility location, as in DivFL, Balakrishnan et al. ICLR 2022), sim the cosine of their
   * update signatures (the output layer's last change, which says which labels a participant trains
   * on). A fast participant whose updates point where a slow one's do stands in for it, so rounds
   * get shorter without leaving labels out. Needs each participant's update: refused with secure
   * aggregation. @default 0
   */
  diversity: z.number().min(0).max(1).default(0),
});
export type OortOptions = z.infer<typeof oortOptionsSchema>;

export function parseOortOptions(raw: unknown): OortOptions {
  const parsed = oortOptionsSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new ChorusError('INVALID_CONFIG', `selection.options: ${describeZodError(parsed.error)}`);
  return parsed.data;
}

interface Scored<T> {
  readonly c: T;
  readonly score: number;
  readonly reason: SelectionReason;
  /** Statistical utility (normalized, with the staleness bonus): what covering this participant is worth. */
  readonly stat: number;
  /** System utility × reliability. */
  readonly factor: number;
  /** Fairness's share of the score: f × (1 − invited / most invited). */
  readonly fair: number;
  readonly signature: readonly number[] | null;
}

/** Draws `n` items without replacement, each with probability proportional to its weight. */
function weightedSample<T>(items: readonly T[], weight: (t: T) => number, n: number, random: () => number): T[] {
  const pool = [...items];
  const out: T[] = [];
  while (out.length < n && pool.length > 0) {
    const weights = pool.map((t) => Math.max(weight(t), 1e-12));
    let r = random() * weights.reduce((a, b) => a + b, 0);
    let i = 0;
    while (i < pool.length - 1 && r >= weights[i]!) r -= weights[i++]!;
    out.push(pool.splice(i, 1)[0]!);
  }
  return out;
}

/** Statistical utility: the examples a participant trained on × the training loss it last reported. */
function stat(h: ParticipantHistory): number {
  return h.lastLoss != null && Number.isFinite(h.lastLoss) ? Math.max(0, h.lastLoss) * Math.max(1, h.lastExamples) : 0;
}

/**
 * Oort's pacer: the statistical utility each finished round's participants reported, summed per
 * window of `window` rounds; when a window's sum falls below the one before, `relaxed` goes up by
 * one (the selector widens T by one step). Rounds are counted once each, in the order they end.
 */
export class OortPacer {
  relaxed = 0;
  private sums: number[] = [];

  constructor(private readonly window: number) {}

  /** `round` ended: add what its participants reported; compare windows when one is complete. */
  roundEnded(round: number, history: ReadonlyMap<string, ParticipantHistory>): void {
    if (this.window === 0) return;
    let sum = 0;
    for (const h of history.values()) if (h.lastRound === round) sum += stat(h);
    this.sums.push(sum);
    if (this.sums.length < 2 * this.window) return;
    const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    if (total(this.sums.slice(this.window)) < total(this.sums.slice(0, this.window))) this.relaxed += 1;
    this.sums = this.sums.slice(this.window);
  }

  exportState(): { relaxed: number; sums: number[] } {
    return { relaxed: this.relaxed, sums: [...this.sums] };
  }

  importState(state: unknown): void {
    const { relaxed, sums } = (state ?? {}) as { relaxed?: unknown; sums?: unknown };
    if (typeof relaxed === 'number' && Number.isSafeInteger(relaxed) && relaxed >= 0 && relaxed <= 1_000_000) this.relaxed = relaxed;
    if (Array.isArray(sums) && sums.length < 2 * this.window && sums.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0)) this.sums = [...sums];
  }
}

/**
 * The greedy coverage picks (`diversity`) run among the best-scoring candidates only: the pairwise
 * similarities cost pool² × signature length, and a participant far down the ranking (slow,
 * unreliable or with nothing to teach) would not be picked anyway.
 */
const COVERAGE_POOL_PER_PICK = 8;
const COVERAGE_POOL_MIN = 200;

/** Cosine of two unit signatures, floored at 0 (opposite updates cover nothing of each other); 0 when either is missing. */
function similarity(a: readonly number[] | null, b: readonly number[] | null): number {
  if (!a || !b || a.length !== b.length) return 0;
  let dot = 0;
  for (let k = 0; k < a.length; k++) dot += a[k]! * b[k]!;
  return dot > 0 ? Math.min(1, dot) : 0;
}

/**
 * `n` of `pool` chosen one at a time for coverage (see OortOptions.diversity): each pick the one with
 * the most ((1 − d) × own + d × coverage) × system × reliability, blended with fairness as the score is;
 * what it covers is then covered for the picks after it. Deterministic; `reason.utility` is the
 * value it was picked with.
 */
function pickCovering<T>(pool: readonly Scored<T>[], n: number, options: OortOptions): Scored<T>[] {
  const m = pool.length;
  const sim = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    sim[i * m + i] = 1;
    for (let j = i + 1; j < m; j++) sim[i * m + j] = sim[j * m + i] = similarity(pool[i]!.signature, pool[j]!.signature);
  }
  const covered = new Float64Array(m);
  const taken = new Uint8Array(m);
  const d = options.diversity;
  const out: Scored<T>[] = [];
  while (out.length < Math.min(n, m)) {
    let best = -1;
    let bestValue = -Infinity;
    for (let i = 0; i < m; i++) {
      if (taken[i]) continue;
      let coverage = 0;
      for (let j = 0; j < m; j++) {
        const gain = sim[i * m + j]! - covered[j]!;
        if (gain > 0) coverage += pool[j]!.stat * gain;
      }
      const own = pool[i]!.stat * (1 - covered[i]!);
      const value = (1 - options.fairness) * ((1 - d) * own + d * coverage) * pool[i]!.factor + pool[i]!.fair;
      if (value > bestValue) {
        bestValue = value;
        best = i;
      }
    }
    taken[best] = 1;
    for (let j = 0; j < m; j++) covered[j] = Math.max(covered[j]!, sim[best * m + j]!);
    const s = pool[best]!;
    out.push({ ...s, reason: { ...s.reason, utility: bestValue } });
  }
  return out;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(q * (sorted.length - 1))))]!;
}

/**
 * Oort's selector (Lai et al., OSDI 2021, §4). A participant seen before is scored by
 *   statistical utility  |B| × loss (its examples × the training loss it last reported; normalized),
 *   plus the staleness bonus √(0.1 ln R / L) (R: this round, L: its last round),
 *   × system utility     (T / t)^α when its expected round time t exceeds the preferred T,
 *   × reliability        (completed + 1) / (completed + dropped + 2),
 * blended with fairness f as (1 − f) × utility + f × (1 − invited / most invited). Reliability counts
 * only finished invitations: one still in flight, or cut short because the round closed at its
 * target, is neither a success nor a dropout (over-selection and asynchronous work would otherwise
 * read as flakiness). A share ε of the picks explores participants never invited, faster ones first
 * (by their measured examples/s); ε decays once per round to a floor. The rest are drawn among the
 * top scorers (within `cutoff` of the last one needed), in proportion to their score.
 */
export function createOortSelector(options: OortOptions): Selector {
  let epsilon = options.explorationFactor;
  // The round ε was last used for: ε decays when a later round first selects, not on every call,
  // so an asynchronous buffer's many one-participant picks count as one round.
  let epsilonRound = 0;
  const pacer = new OortPacer(options.pacerWindow);
  return {
    usesSignatures: options.diversity > 0,
    select<T extends SelectionCandidate>(input: SelectionInput<T>): Selection<T> {
      const { candidates, count, history, round, random } = input;
      if (epsilonRound > 0 && round > epsilonRound) {
        epsilon = Math.max(options.minExploration, epsilon * options.explorationDecay);
        pacer.roundEnded(epsilonRound, history);
      }
      epsilonRound = Math.max(epsilonRound, round);
      const seen: T[] = [];
      const unseen: T[] = [];
      for (const c of candidates) (history.get(c.participantId)?.invited ? seen : unseen).push(c);
      const expected = (c: T): number | undefined => {
        const h = history.get(c.participantId);
        if (h?.lastDurationMs != null) return h.lastDurationMs;
        const speed = c.capabilities.samplesPerSecond;
        return speed && speed > 0 ? (input.examplesPerRound(c) / speed) * 1000 : undefined;
      };
      const durations = candidates.map(expected).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
      const preferred =
        options.preferredDurationMs !== undefined
          ? options.preferredDurationMs * Math.pow(1 + options.pacerStep, pacer.relaxed)
          : durations.length > 0
            ? quantile(durations, Math.min(1, options.durationQuantile + options.pacerStep * pacer.relaxed))
            : input.deadlineMs;

      // ε·count explorers in expectation: the fraction is drawn, so one pick at a time (async
      // dispatches usually select one) still explores with probability ε instead of rounding to 0.
      const share = epsilon * count;
      const whole = Math.floor(share);
      const nExplore = Math.min(unseen.length, whole + (share > whole && random() < share - whole ? 1 : 0));
      const nExploit = Math.min(seen.length, count - nExplore);
      const maxInvited = Math.max(1, ...seen.map((c) => history.get(c.participantId)!.invited));
      const maxStat = Math.max(1e-12, ...seen.map((c) => stat(history.get(c.participantId)!)));
      const scored: Scored<T>[] = seen.map((c) => {
        const h = history.get(c.participantId)!;
        const t = expected(c);
        const bonus = Math.sqrt((0.1 * Math.log(Math.max(round, 2))) / Math.max(1, h.lastRound));
        const system = t !== undefined && t > preferred ? Math.pow(preferred / t, options.roundPenalty) : 1;
        const reliability = (h.completed + 1) / (h.completed + h.dropped + 2);
        const statistical = stat(h) / maxStat + bonus;
        const utility = statistical * system * reliability;
        const fair = options.fairness * (1 - h.invited / maxInvited);
        const score = (1 - options.fairness) * utility + fair;
        const reason: SelectionReason = { participantId: c.participantId, kind: 'exploit', utility: score, reliability, ...(c.capabilities.samplesPerSecond ? { speed: c.capabilities.samplesPerSecond } : {}), ...(t !== undefined ? { expectedMs: Math.round(t) } : {}) };
        return { c, score, reason, stat: statistical, factor: system * reliability, fair, signature: h.signature };
      });
      scored.sort((a, b) => b.score - a.score);
      let exploited: Scored<T>[] = [];
      if (nExploit > 0 && options.diversity > 0) {
        exploited = pickCovering(scored.slice(0, Math.max(COVERAGE_POOL_MIN, COVERAGE_POOL_PER_PICK * nExploit)), nExploit, options);
      } else if (nExploit > 0) {
        const threshold = options.cutoff * scored[nExploit - 1]!.score;
        const pool = scored.filter((s) => s.score >= threshold);
        exploited = weightedSample(pool, (s) => s.score, nExploit, random);
      }
      // Unseen participants fill what the seen ones cannot (the first rounds), faster ones more likely.
      const nUnseen = Math.min(unseen.length, count - exploited.length);
      const explored = weightedSample(unseen, (c) => c.capabilities.samplesPerSecond ?? 1, nUnseen, random);
      return {
        picked: [...exploited.map((s) => s.c), ...explored],
        reasons: [
          ...exploited.map((s) => s.reason),
          ...explored.map((c): SelectionReason => {
            const t = expected(c);
            return { participantId: c.participantId, kind: 'explore', ...(c.capabilities.samplesPerSecond ? { speed: c.capabilities.samplesPerSecond } : {}), ...(t !== undefined ? { expectedMs: Math.round(t) } : {}) };
          }),
        ],
      };
    },
    exportState: () => ({ epsilon, round: epsilonRound, ...(options.pacerWindow > 0 ? { pacer: pacer.exportState() } : {}) }),
    importState(state) {
      const { epsilon: e, round: r, pacer: p } = (state ?? {}) as { epsilon?: unknown; round?: unknown; pacer?: unknown };
      if (typeof e === 'number' && e >= 0 && e <= 1) epsilon = e;
      if (typeof r === 'number' && Number.isSafeInteger(r) && r >= 0) epsilonRound = r;
      pacer.importState(p);
    },
  };
}
