import { createRegistry, type Capabilities, type Registry, type RoundConfig } from '@chorus/core';
import { createOortSelector, parseOortOptions } from './oort-selection.js';
import type { SelectionPolicy, Selector } from './selection-types.js';

export type { ParticipantHistory, SelectionReason } from '../storage/selection-records.js';
export type { Selection, SelectionCandidate, SelectionInput, SelectionPolicy, Selector } from './selection-types.js';

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

export const uniformSelector: Selector = {
  select(input) {
    const picked = pickRandom(input.candidates, input.count, input.random);
    return { picked, reasons: picked.map((c) => ({ participantId: c.participantId, kind: 'uniform' as const, ...(c.capabilities.samplesPerSecond ? { speed: c.capabilities.samplesPerSecond } : {}) })) };
  },
};

export const UNIFORM_POLICY: SelectionPolicy = {
  id: 'uniform',
  description: 'A uniform random subset of the eligible clients (FedAvg).',
  create: () => uniformSelector,
};

export const OORT_POLICY: SelectionPolicy = {
  id: 'oort',
  description: 'Oort (Lai et al., OSDI 2021): statistical utility (loss × examples) × system utility (deadline penalty on slow devices) × reliability, exploring unseen participants with probability ε, with a fairness knob.',
  create: (options) => createOortSelector(parseOortOptions(options)),
};

export const selectionPolicyRegistry: Registry<SelectionPolicy> = createRegistry({
  kind: 'client-selection policy',
  field: 'selection.id',
  idOf: (p) => p.id,
  initial: [UNIFORM_POLICY, OORT_POLICY],
});

/** The task's selector, from its `selection` config (tasks stored before it existed are uniform). */
export function createSelector(config: { readonly id: string; readonly options?: Readonly<Record<string, unknown>> } | undefined): Selector {
  if (!config) return uniformSelector;
  return selectionPolicyRegistry.require(config.id).create(config.options ?? {});
}
