/**
 * Rules the Chorus iframe applies before and while it trains, as pure functions (the page wires them
 * to the DOM): who may embed it, and how much of the visitor's time and CPU it may use.
 */

/** "https://a.example:8443" for an origin-shaped string, else null (paths, "null", other schemes). */
export function normalizeOrigin(value: string | null | undefined): string | null {
  if (!value) return null;
  try {
    const url = new URL(value);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
    return url.origin === value || `${url.origin}/` === value ? url.origin : null;
  } catch {
    return null;
  }
}

export interface EmbeddingFacts {
  /** The `parent` query parameter the loader set. */
  readonly parentParam: string | null;
  /** window.parent !== window */
  readonly framed: boolean;
  /** location.ancestorOrigins[0] where the browser offers it (Chromium, Safari). */
  readonly ancestorOrigin?: string | null;
  /** document.referrer (the loader asks for at least the origin). */
  readonly referrer?: string | null;
}

/**
 * The embedding origin the frame may talk to, or a plain-words reason to refuse. The `parent` param
 * alone could be forged by a site framing us directly, so it must agree with what the browser says
 * about our actual parent (ancestorOrigins first, then the referrer) whenever the browser says it.
 */
export function checkEmbedding(facts: EmbeddingFacts): { ok: true; origin: string } | { ok: false; reason: string } {
  if (!facts.framed) return { ok: false, reason: 'This page only works inside a partner site that embeds Chorus.' };
  const parent = normalizeOrigin(facts.parentParam);
  if (!parent) return { ok: false, reason: 'The embedding site did not say which site it is.' };
  const actual = facts.ancestorOrigin ? facts.ancestorOrigin : facts.referrer ? normalizeOrigin(new URL(facts.referrer).origin) : null;
  if (actual !== null && actual !== parent) {
    return { ok: false, reason: `The page embedding Chorus (${actual}) is not the site it claims to be (${parent}).` };
  }
  return { ok: true, origin: parent };
}

export interface VisitLimits {
  /** Largest share of wall time spent training, 0.1…1. @default 0.5 */
  readonly dutyCycle: number;
  /** Training time per visit, ms. @default 600_000 (10 minutes) */
  readonly budgetMs: number;
}

export const DEFAULT_VISIT_LIMITS: VisitLimits = { dutyCycle: 0.5, budgetMs: 600_000 };

/**
 * `?duty=0.5&budget=600` (seconds), clamped to safe ranges: a partner may ask for less of the
 * visitor's machine, never for more than the whole visit or under a tenth of duty.
 */
export function parseVisitLimits(params: URLSearchParams): VisitLimits {
  const num = (name: string): number | null => {
    const raw = params.get(name);
    const n = raw === null || raw.trim() === '' ? Number.NaN : Number(raw);
    return Number.isFinite(n) ? n : null;
  };
  const duty = num('duty');
  const budget = num('budget');
  return {
    dutyCycle: duty === null ? DEFAULT_VISIT_LIMITS.dutyCycle : Math.min(1, Math.max(0.1, duty)),
    budgetMs: budget === null ? DEFAULT_VISIT_LIMITS.budgetMs : Math.round(Math.min(3600, Math.max(10, budget)) * 1000),
  };
}

/** How long to rest after `trainMs` of training so training stays within `dutyCycle` of wall time. */
export function restAfterTraining(trainMs: number, dutyCycle: number): number {
  if (!(trainMs > 0) || dutyCycle >= 1) return 0;
  return Math.round((trainMs * (1 - dutyCycle)) / dutyCycle);
}
