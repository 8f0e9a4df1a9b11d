import { ChorusError } from '../errors/chorus-error.js';
import { computeRdp, DEFAULT_RDP_ORDERS, rdpToEpsilon } from './rdp-accountant.js';

export interface PrivacyPlanInput {
  readonly noiseMultiplier: number;
  /** Clients per round ÷ the population they are drawn from. */
  readonly sampleRate: number;
  readonly delta: number;
  /** Rounds to report ε for (e.g. the task's maxRounds). */
  readonly rounds: number;
  /** When set, also report how many rounds fit under it. */
  readonly epsilonBudget?: number;
  /** Upper end of the rounds search. @default 1_000_000 */
  readonly maxRounds?: number;
}

export interface PrivacyPlan {
  /** ε after `rounds` rounds (Infinity without noise). */
  readonly epsilon: number;
  /** Most rounds whose ε stays ≤ epsilonBudget (the server stops before the next); undefined without a budget. */
  readonly roundsAllowed?: number;
  /** True when roundsAllowed hit `maxRounds` (the budget allows at least that many). */
  readonly roundsCapped?: boolean;
}

/**
 * What a DP configuration will cost, for the console to show while the operator types: the same
 * RDP accounting the server runs (one step's RDP scaled by the number of rounds), and the number of
 * rounds an ε budget allows, by bisection over the monotone ε(rounds).
 */
export function planPrivacy(input: PrivacyPlanInput): PrivacyPlan {
  const { noiseMultiplier, sampleRate, delta, rounds, epsilonBudget } = input;
  if (!(rounds >= 0) || !Number.isInteger(rounds)) throw new ChorusError('BAD_REQUEST', `planPrivacy: rounds must be a non-negative integer, got ${rounds}`);
  if (epsilonBudget !== undefined && !(epsilonBudget > 0)) throw new ChorusError('BAD_REQUEST', `planPrivacy: epsilonBudget must be > 0, got ${epsilonBudget}`);
  const orders = DEFAULT_RDP_ORDERS;
  const step = computeRdp(sampleRate, noiseMultiplier, 1, orders);
  const epsAfter = (n: number): number => (n === 0 ? 0 : rdpToEpsilon(orders, step.map((r) => r * n), delta).epsilon);
  const epsilon = epsAfter(rounds);
  if (epsilonBudget === undefined) return { epsilon };
  const cap = input.maxRounds ?? 1_000_000;
  if (epsAfter(1) > epsilonBudget) return { epsilon, roundsAllowed: 0 };
  if (epsAfter(cap) <= epsilonBudget) return { epsilon, roundsAllowed: cap, roundsCapped: true };
  let lo = 1; // ε(lo) ≤ budget
  let hi = cap; // ε(hi) > budget
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (epsAfter(mid) <= epsilonBudget) lo = mid;
    else hi = mid;
  }
  return { epsilon, roundsAllowed: lo };
}
