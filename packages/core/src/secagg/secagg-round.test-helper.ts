/**
 * Drives a whole SecAgg+ round in memory — real participants, real server, no transport — with
 * participants dropping before any stage. Used by the tests and the benchmark.
 */
import { SecAggParticipant } from './secagg-participant.js';
import { SecAggServer } from './secagg-server.js';
import type { SecAggSetupInput } from './secagg-params.js';
import type { MaskedInput } from './secagg-messages.js';

export type Stage = 'advertise' | 'share' | 'mask' | 'unmask';

/** Who drops before which stage (a participant that drops before a stage sends nothing from it on). */
export type Dropouts = Partial<Record<Stage, readonly number[]>>;

export type RoundInput = { readonly ring: Uint32Array } | { readonly update: Float32Array; readonly examples: number };

export async function createParticipants(setup: SecAggSetupInput): Promise<SecAggParticipant[]> {
  return Promise.all(Array.from({ length: setup.participants }, (_, i) => SecAggParticipant.create(setup, i + 1)));
}

/** Runs the round and returns the server (after `close*` of every stage, before unmasking). */
export async function runToUnmasking(setup: SecAggSetupInput, input: (id: number) => RoundInput, drops: Dropouts = {}, participants?: SecAggParticipant[]) {
  const server = await SecAggServer.create(setup);
  const people = participants ?? (await createParticipants(setup));
  const gone = new Set<number>();
  const live = (stage: Stage) => {
    for (const id of drops[stage] ?? []) gone.add(id);
    return people.filter((p) => !gone.has(p.id));
  };
  for (const p of live('advertise')) server.receiveAdvertise(await p.advertise());
  const keys = server.closeAdvertise();
  for (const p of live('share')) {
    const k = keys.get(p.id);
    if (k) server.receiveShares(await p.shareKeys(k));
  }
  const shares = server.closeShares();
  const maskedBy: number[] = [];
  for (const p of live('mask')) {
    const s = shares.get(p.id);
    if (!s) continue;
    const value = input(p.id);
    const msg: MaskedInput = 'ring' in value ? await p.maskRing(s, value.ring.slice()) : await p.maskedInput(s, value.update, value.examples);
    server.receiveMasked(msg);
    maskedBy.push(p.id);
  }
  const requests = server.closeMasked();
  for (const p of live('unmask')) {
    const r = requests.get(p.id);
    if (r) server.receiveUnmasking(await p.unmask(r));
  }
  return { server, participants: people, maskedBy };
}

/** `count` ids out of 1..n, spread evenly (deterministic, so a failing test repeats). */
export function someIds(n: number, fraction: number, offset = 0): number[] {
  const count = Math.round(n * fraction);
  return Array.from({ length: count }, (_, i) => ((Math.floor((i * n) / Math.max(count, 1)) + offset) % n) + 1);
}
