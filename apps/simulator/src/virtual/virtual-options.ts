import { ChorusError, type TaskConfigInput } from '@chorus/core';
import { resolveSimulationOptions, type SimulationOptions } from '../simulation-options.js';
import { resolveDeviceProfile, type DeviceProfile, type DeviceProfileInput } from './device-profile.js';

/** Options of a virtual-clock run: the usual simulation options plus the population and the round mode. */
export interface VirtualSimulationOptions extends SimulationOptions {
  /** The device population: a built-in id ('default', 'uniform'), a JSON file, or a profile. @default 'default' */
  profile: DeviceProfile;
  /** Invite ceil(target × this) per synchronous round; the round closes at the target. @default 1.3 */
  overSelection: number;
  /** Client-selection policy id and options (the server's selection registry). @default { id: 'uniform' } */
  selection: { id: string; options: Record<string, unknown> };
  /** Extra task options merged into the task config (e.g. `{ mode: 'async', async: {…} }`). @default {} */
  taskExtras: Partial<TaskConfigInput> & Record<string, unknown>;
  /** Stop once this much simulated time has passed (minutes; 0 = no limit). @default 0 */
  timeBudgetMin: number;
  /** Test examples each version is scored on (0 = the whole test set). @default 2000 */
  evalExamples: number;
}

export type VirtualSimulationInput = Partial<Omit<VirtualSimulationOptions, 'profile'>> & { profile?: string | DeviceProfileInput; measuredExamplesPerSec?: readonly number[] };

/** Merges over the defaults and validates; `name` maps an option key to the flag the user typed. */
export function resolveVirtualOptions(input: VirtualSimulationInput, name: (key: string) => string = (k) => k): VirtualSimulationOptions {
  const { profile, measuredExamplesPerSec, overSelection, selection, taskExtras, timeBudgetMin, evalExamples, ...base } = input;
  const given = Object.fromEntries(Object.entries(base).filter(([, v]) => v !== undefined)) as Partial<SimulationOptions>;
  const o = resolveSimulationOptions({ deadlineMs: 120_000, ...given }, name as (k: keyof SimulationOptions) => string);
  const fail = (key: string, expected: string, got: unknown): never => {
    throw new ChorusError('INVALID_CONFIG', `${name(key)}: expected ${expected}, got ${JSON.stringify(got)}`);
  };
  if (o.serverUrl !== undefined) fail('serverUrl', 'no server: the virtual clock runs the round engine in this process', o.serverUrl);
  if (o.dropout !== undefined) fail('dropout', 'no --dropout: on the virtual clock devices drop out as the device profile says', o.dropout);
  if (o.personalization !== undefined) fail('personalization', 'no personalization (not simulated on the virtual clock yet)', o.personalization);
  // Options the virtual devices do not act on are refused rather than silently ignored: a run that
  // quietly left them out would be reported as if it had them.
  if (o.secureAggregation !== undefined) fail('secureAggregation', 'no secure aggregation (the virtual devices do not run the SecAgg+ stages)', o.secureAggregation);
  if (o.clientHoldout !== undefined) fail('clientHoldout', "no client holdout (the virtual clock scores only the central test set)", o.clientHoldout);
  if (o.downloadCodec !== undefined) fail('downloadCodec', 'no download codec (virtual devices train on the exact global model and are charged for a float32 download)', o.downloadCodec);
  if (o.attack !== undefined) fail('attack', 'no attack hooks (not applied on the virtual clock)', 'attack');
  if (o.taskId !== undefined) fail('taskId', 'no task id (the virtual clock names its task virtual-<seed>)', o.taskId);
  const out: VirtualSimulationOptions = {
    ...o,
    profile: resolveDeviceProfile(profile ?? 'default', measuredExamplesPerSec),
    overSelection: overSelection ?? 1.3,
    selection: { id: selection?.id ?? 'uniform', options: selection?.options ?? {} },
    taskExtras: taskExtras ?? {},
    timeBudgetMin: timeBudgetMin ?? 0,
    evalExamples: evalExamples ?? 2000,
  };
  if (!(out.overSelection >= 1 && out.overSelection <= 5)) fail('overSelection', 'a number from 1 to 5', out.overSelection);
  if (!(out.timeBudgetMin >= 0 && out.timeBudgetMin <= 1e7)) fail('timeBudgetMin', 'minutes ≥ 0', out.timeBudgetMin);
  if (!(Number.isInteger(out.evalExamples) && out.evalExamples >= 0)) fail('evalExamples', 'an integer ≥ 0', out.evalExamples);
  return out;
}
