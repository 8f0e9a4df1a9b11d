import type { Logger } from 'pino';
import type { RoundInvite } from '@chorus/core';
import type { StoredTask } from '../storage/storage.js';
import type { EngineDeps } from './engine-deps.js';

/** What an invite carries for differential downloads (RoundInvite's optional fields). */
export type DownloadChecks = Pick<RoundInvite, 'weightsHash' | 'weightsSketch' | 'initialWeights'>;

/**
 * The download checks of one task's invites, for both runners (rounds and FedBuff): the version's
 * exact hash and sketch, so a participant that applied differences can tell its weights are the
 * server's, and the seed of version 0 once the server has checked that it rebuilds version 0 bit for
 * bit (at version 0 from the weights in hand; later from storage, in the background: the next
 * invites carry it). Without a delta store (no differential downloads) invites carry none.
 */
export class InviteDownloadChecks {
  private initialCheckPending = false;

  constructor(
    private readonly deps: EngineDeps,
    private readonly log: Logger,
  ) {}

  /** The checks for an invite to train on `version`, whose weights are `global`. */
  of(task: StoredTask, version: number, global: Float32Array): DownloadChecks {
    const deltas = this.deps.modelDeltas;
    if (!deltas) return {};
    const id = task.id;
    const seed = task.config.initialSeed;
    if (seed !== undefined && !deltas.initialChecked(id)) {
      if (version === 0) deltas.checkInitial(id, seed, task.layout, global);
      else if (!this.initialCheckPending) {
        this.initialCheckPending = true;
        void this.deps.storage
          .getVersion(id, 0)
          .then((v) => deltas.checkInitial(id, seed, task.layout, v ? this.deps.payload.decode(v.payload).values : new Float32Array(0)))
          .catch((err: unknown) => this.log.warn({ err }, 'version 0 could not be checked against its seed: invites will not name it'))
          .finally(() => (this.initialCheckPending = false));
      }
    }
    const initialSeed = deltas.initialSeed(id);
    return {
      weightsHash: deltas.hash(id, version, global),
      weightsSketch: deltas.sketch(id, version, global),
      ...(initialSeed !== undefined ? { initialWeights: { seed: initialSeed, layout: task.layout.map((t) => ({ name: t.name, shape: [...t.shape] })) } } : {}),
    };
  }
}
