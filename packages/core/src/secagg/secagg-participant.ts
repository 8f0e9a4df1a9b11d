/**
 * One participant's side of a SecAgg+ round, as a state machine with one method per stage. It is
 * the same code in the browser's trainer worker, the simulator and the tests. It refuses (with a
 * SecAggError, revealing nothing) any request an honest participant must not answer.
 */
import { split } from 'shamir-secret-sharing';
import { buildNeighbourGraph, type NeighbourGraph } from './neighbour-graph.js';
import { quantizeUpdate } from './quantize.js';
import { packRing } from './ring-packing.js';
import { rotationFor } from './rotation.js';
import { inBatches, pairMaskKey, pairShareKey, selfMaskKey, shareAad } from './secagg-keys.js';
import {
  SHARE_BYTES,
  SHARE_PLAINTEXT_BYTES,
  incomingSharesSchema,
  neighbourKeysSchema,
  parseSecAggMessage,
  unmaskingRequestSchema,
  type AdvertiseKeys,
  type IncomingShares,
  type MaskedInput,
  type NeighbourKeys,
  type ShareKeys,
  type UnmaskingRequest,
  type UnmaskingResponse,
} from './secagg-messages.js';
import { secAggShape, type SecAggSetupInput, type SecAggShape } from './secagg-params.js';
import { SecAggError } from './secagg-error.js';
import { expandMask, generateX25519, openAesGcm, randomBytes, sealAesGcm, sha256, type Bytes, type X25519KeyPair } from './webcrypto.js';

type Stage = 'advertise' | 'share' | 'mask' | 'unmask' | 'done';

/** How many masks are expanded at once (each is 4 bytes × the update's length). */
const MASK_BATCH = 2;

const hex = (b: Uint8Array): string => Array.from(b, (v) => v.toString(16).padStart(2, '0')).join('');

export class SecAggParticipant {
  private stage: Stage = 'advertise';
  /** Neighbours that advertised keys, with the derived pairwise keys. */
  private readonly peers = new Map<number, { maskKey: Bytes; shareKey: Bytes }>();
  /** Neighbours whose shares this participant holds (sealed until unmasking). */
  private readonly held = new Map<number, Bytes>();

  private constructor(
    readonly id: number,
    readonly shape: SecAggShape,
    private readonly graph: NeighbourGraph,
    private readonly maskPair: X25519KeyPair,
    private readonly sharePair: X25519KeyPair,
    private readonly seed: Bytes,
  ) {}

  static async create(setup: SecAggSetupInput, id: number): Promise<SecAggParticipant> {
    const shape = secAggShape(setup);
    const { participants, neighbours, seed, roundId } = shape.setup;
    if (!Number.isInteger(id) || id < 1 || id > participants) throw new SecAggError('UNKNOWN_ID', `participant id ${id} is not on the round's roster`);
    const [graph, maskPair, sharePair] = await Promise.all([
      buildNeighbourGraph(participants, neighbours, seed, roundId),
      generateX25519(),
      generateX25519(),
    ]);
    return new SecAggParticipant(id, shape, graph, maskPair, sharePair, randomBytes(32));
  }

  private enter(expected: Stage, next: Stage): void {
    if (this.stage !== expected) throw new SecAggError('WRONG_STAGE', `participant ${this.id} is at stage "${this.stage}", not "${expected}"`);
    this.stage = next;
  }

  /** Stage 1: the two public keys and a commitment to the self-mask seed. */
  async advertise(): Promise<AdvertiseKeys> {
    this.enter('advertise', 'share');
    return { id: this.id, maskPublicKey: this.maskPair.publicKey, sharePublicKey: this.sharePair.publicKey, seedCommitment: await sha256(this.seed) };
  }

  /** Stage 2: Shamir-share the seed and the mask private key among the neighbours that advertised. */
  async shareKeys(message: NeighbourKeys): Promise<ShareKeys> {
    this.enter('share', 'mask');
    const { keys } = parseSecAggMessage(neighbourKeysSchema, message, 'secagg:neighbour-keys');
    const { roundId, threshold } = this.shape.setup;
    const seen = new Set<string>([hex(this.maskPair.publicKey), hex(this.sharePair.publicKey)]);
    const ids = new Set<number>();
    for (const k of keys) {
      if (k.id === this.id || !this.graph.isNeighbour(this.id, k.id)) throw new SecAggError('UNKNOWN_ID', `participant ${k.id} is not a neighbour of ${this.id}`);
      if (ids.has(k.id)) throw new SecAggError('REPLAYED', `participant ${k.id} is listed twice`);
      ids.add(k.id);
      for (const key of [k.maskPublicKey, k.sharePublicKey]) {
        if (seen.has(hex(key))) throw new SecAggError('REPLAYED', `participant ${k.id} advertised a key already seen this round`);
        seen.add(hex(key));
      }
    }
    if (keys.length < threshold) throw new SecAggError('BELOW_THRESHOLD', `only ${keys.length} neighbours advertised keys; ${threshold} are needed`);
    await Promise.all(
      keys.map(async (k) => {
        const [maskKey, shareKey] = await Promise.all([
          pairMaskKey(roundId, this.maskPair.handle, this.id, k.id, k.maskPublicKey),
          pairShareKey(roundId, this.sharePair.handle, this.id, k.id, k.sharePublicKey),
        ]);
        this.peers.set(k.id, { maskKey, shareKey });
      }),
    );
    const [seedShares, keyShares] = await Promise.all([split(this.seed, keys.length, threshold), split(this.maskPair.privateKey, keys.length, threshold)]);
    const shares = await Promise.all(
      keys.map(async (k, i) => {
        const plain = new Uint8Array(SHARE_PLAINTEXT_BYTES);
        const view = new DataView(plain.buffer);
        view.setUint32(0, this.id);
        view.setUint32(4, k.id);
        plain.set(seedShares[i]!, 8);
        plain.set(keyShares[i]!, 8 + SHARE_BYTES);
        return { to: k.id, sealed: await sealAesGcm(this.peers.get(k.id)!.shareKey, plain, shareAad(roundId, this.id, k.id)) };
      }),
    );
    return { id: this.id, shares };
  }

  /** Stage 3: quantize, then add the self mask and ± one pairwise mask per neighbour that shared. */
  async maskedInput(message: IncomingShares, update: Float32Array, examples: number): Promise<MaskedInput> {
    if (this.stage !== 'mask') throw new SecAggError('WRONG_STAGE', `participant ${this.id} is at stage "${this.stage}", not "mask"`);
    const { seed, roundId, length } = this.shape.setup;
    return this.maskRing(message, await quantizeUpdate(this.shape, await rotationFor(seed, roundId, length), update, examples));
  }

  /** Stage 3 for an input already in the ring (length maskedLength): masks it in place and packs it. */
  async maskRing(message: IncomingShares, masked: Uint32Array): Promise<MaskedInput> {
    this.enter('mask', 'unmask');
    if (masked.length !== this.shape.maskedLength) throw new SecAggError('MALFORMED', `a ring input has ${this.shape.maskedLength} values`);
    const { shares } = parseSecAggMessage(incomingSharesSchema, message, 'secagg:incoming-shares');
    for (const s of shares) {
      if (!this.peers.has(s.from)) throw new SecAggError('UNKNOWN_ID', `a share from ${s.from}, who is not a neighbour that advertised keys`);
      if (this.held.has(s.from)) throw new SecAggError('REPLAYED', `two shares from participant ${s.from}`);
      this.held.set(s.from, s.sealed);
    }
    const { threshold, roundId } = this.shape.setup;
    if (this.held.size < threshold) throw new SecAggError('BELOW_THRESHOLD', `only ${this.held.size} neighbours shared keys; ${threshold} are needed`);
    const { maskedLength, ringBits } = this.shape;
    const self = await expandMask(await selfMaskKey(roundId, this.id, this.seed), maskedLength, ringBits);
    for (let i = 0; i < maskedLength; i++) masked[i] = masked[i]! + self[i]!;
    await inBatches([...this.held.keys()], MASK_BATCH, async (other) => {
      const mask = await expandMask(this.peers.get(other)!.maskKey, maskedLength, ringBits);
      if (this.id < other) for (let i = 0; i < maskedLength; i++) masked[i] = masked[i]! + mask[i]!;
      else for (let i = 0; i < maskedLength; i++) masked[i] = masked[i]! - mask[i]!;
    });
    return { id: this.id, masked: packRing(masked, ringBits) };
  }

  /**
   * Stage 4: reveal seed shares of neighbours that sent masked input and mask-key shares of those
   * that did not — never both for one id, never anything of its own, and only once.
   */
  async unmask(message: UnmaskingRequest): Promise<UnmaskingResponse> {
    this.enter('unmask', 'done');
    const { survivors, dropped } = parseSecAggMessage(unmaskingRequestSchema, message, 'secagg:unmasking-request');
    if (survivors.includes(this.id) || dropped.includes(this.id)) throw new SecAggError('OWN_SHARES_REQUESTED', `participant ${this.id} was asked for shares of its own secrets`);
    const alive = new Set(survivors);
    const gone = new Set(dropped);
    if (alive.size !== survivors.length || gone.size !== dropped.length) throw new SecAggError('INCONSISTENT_UNMASKING', 'an id is listed twice');
    for (const other of alive) {
      if (gone.has(other)) throw new SecAggError('INCONSISTENT_UNMASKING', `participant ${other} is said to have both sent and not sent its masked input`);
    }
    for (const other of [...alive, ...gone]) {
      if (!this.held.has(other)) throw new SecAggError('UNKNOWN_ID', `no share of participant ${other} is held here`);
    }
    if (alive.size + gone.size !== this.held.size) throw new SecAggError('INCONSISTENT_UNMASKING', 'every neighbour that shared must be named as either survivor or dropped');
    if (alive.size + 1 < this.shape.setup.threshold) throw new SecAggError('BELOW_THRESHOLD', `only ${alive.size + 1} of this neighbourhood survive; ${this.shape.setup.threshold} are needed`);
    const { roundId } = this.shape.setup;
    const open = async (other: number): Promise<Bytes> => {
      const plain = await openAesGcm(this.peers.get(other)!.shareKey, this.held.get(other)!, shareAad(roundId, other, this.id));
      const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
      if (plain.length !== SHARE_PLAINTEXT_BYTES || view.getUint32(0) !== other || view.getUint32(4) !== this.id) {
        throw new SecAggError('DECRYPT_FAILED', `the share from ${other} names other ids`);
      }
      return plain;
    };
    const seedShares = await Promise.all([...alive].map(async (of) => ({ of, share: (await open(of)).slice(8, 8 + SHARE_BYTES) })));
    const keyShares = await Promise.all([...gone].map(async (of) => ({ of, share: (await open(of)).slice(8 + SHARE_BYTES) })));
    return { id: this.id, seedShares, keyShares };
  }

  /** The neighbours this participant holds shares for (tests and diagnostics). */
  heldShares(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }
}
