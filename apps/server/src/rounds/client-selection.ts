import { createRegistry, type Capabilities, type Registry, type RoundConfig } from '@chorus/core';

/**
 * How many clients to invite: ceil(target × overSelection), capped by who is available. The small
 * epsilon keeps 10 × 1.3 (= 13.000000000000002 in floating point) at 13.
 */
export function selectionSize(targetClients: number, overSelection: number, available: number): number {
  return Math.min(available, Math.ceil(targetClients * overSelection - 1e-9));
}

/** Whether a client's capabilities meet the task's requirements (examples, backend). */
export function isEligible(capabilities: Capabilities, rounds: RoundConfig): boolean {
  if (capabilities.numExamples < rounds.minExamples) return false;
  return rounds.backends.length === 0 || rounds.backends.includes(capabilities.backend);
}

/** A uniform random subset of `count` items (partial Fisher–Yates; input order untouched). */
export function pickRandom<T>(items: readonly T[], count: number, random: () => number): T[] {
  const pool = [...items];
  const n = Math.min(count, pool.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, n);
}

/**
 * How a round picks who to invite among the eligible. One shape with every other extension point
 * (core's createRegistry); 'uniform' (pickRandom) is what every task uses today.
 */
export interface SelectionPolicy {
  readonly id: string;
  readonly description: string;
  select<T>(candidates: readonly T[], count: number, random: () => number): T[];
}

export const selectionPolicyRegistry: Registry<SelectionPolicy> = createRegistry({
  kind: 'client-selection policy',
  idOf: (p) => p.id,
  initial: [{ id: 'uniform', description: 'A uniform random subset of the eligible clients (FedAvg).', select: pickRandom }],
});
