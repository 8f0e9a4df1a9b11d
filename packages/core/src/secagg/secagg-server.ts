/**
 * The server's side of a SecAgg+ round: it relays keys and sealed shares between neighbours, adds
 * masked inputs into one running ring sum as they arrive (it never keeps one participant's
 * vector), and at the end rebuilds the secrets it is entitled to — the self-mask seed of each
 * participant that sent masked input, the mask key of each that dropped after sharing — and
 * removes their masks. Each `close*` ends a stage (at its deadline) and returns what to send next.
 */
import { combine } from 'shamir-secret-sharing';
import { x25519 } from '@noble/curves/ed25519.js';
import { buildNeighbourGraph, type NeighbourGraph } from './neighbour-graph.js';
import { decodeSum, type DecodedSum } from './quantize.js';
import { addPackedInto } from './ring-packing.js';
import { rotationFor, type Rotation } from './rotation.js';
import { inBatches, pairMaskKey, selfMaskKey } from './secagg-keys.js';
import {
  SEALED_SHARE_BYTES,
  advertiseKeysSchema,
  maskedInputSchema,
  parseSecAggMessage,
  shareKeysSchema,
  unmaskingResponseSchema,
  type AdvertiseKeys,
  type IncomingShares,
  type NeighbourKeys,
  type UnmaskingRequest,
} from './secagg-messages.js';
import { secAggShape, type SecAggSetupInput, type SecAggShape } from './secagg-params.js';
import { SecAggError } from './secagg-error.js';
import { expandMask, importX25519Private, sha256, type Bytes } from './webcrypto.js';

export type SecAggStage = 'advertise' | 'share' | 'mask' | 'unmask' | 'done' | 'abandoned';

/** How many participants reached each stage, and what the round cost on the wire. */
export interface SecAggReport {
  readonly advertised: number;
  readonly shared: number;
  readonly masked: number;
  readonly unmasked: number;
  /** Bits per coordinate of the masked vectors (the ring size). */
  readonly bitsPerCoordinate: number;
  /** Participants whose pairwise masks were removed after they dropped (their mask keys rebuilt). */
  readonly recoveredDropouts: number;
}

export interface SecAggResult extends DecodedSum {
  readonly report: SecAggReport;
  /** The ids whose inputs are in the sum. */
  readonly included: readonly number[];
}

const MASK_BATCH = 2;
/** Random share subsets tried, after the cyclic windows, when a rebuilt secret does not match its commitment (bad shares). */
const RECONSTRUCTION_RETRIES = 8;

const hex = (b: Uint8Array): string => Array.from(b, (v) => v.toString(16).padStart(2, '0')).join('');
const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

export class SecAggServer {
  private stageNow: SecAggStage = 'advertise';
  private readonly keys = new Map<number, AdvertiseKeys>();
  private readonly seenKeys = new Set<string>();
  /** Who got whose keys (U1 neighbourhoods), then who got whose shares (the masks each one used). */
  private readonly keysSentTo = new Map<number, Set<number>>();
  private readonly sharesFrom = new Map<number, Map<number, Bytes>>();
  private readonly forwardedTo = new Map<number, Set<number>>();
  private readonly maskedFrom = new Set<number>();
  private readonly sum: Uint32Array;
  private readonly unmaskingSentTo = new Map<number, UnmaskingRequest>();
  private readonly seedShares = new Map<number, Uint8Array[]>();
  private readonly keyShares = new Map<number, Uint8Array[]>();
  private readonly responded = new Set<number>();

  private constructor(
    readonly shape: SecAggShape,
    private readonly graph: NeighbourGraph,
    private readonly rotation: Rotation,
  ) {
    this.sum = new Uint32Array(shape.maskedLength);
  }

  static async create(setup: SecAggSetupInput): Promise<SecAggServer> {
    const shape = secAggShape(setup);
    const { participants, neighbours, seed, roundId, length } = shape.setup;
    const [graph, rotation] = await Promise.all([buildNeighbourGraph(participants, neighbours, seed, roundId), rotationFor(seed, roundId, length)]);
    return new SecAggServer(shape, graph, rotation);
  }

  get stage(): SecAggStage {
    return this.stageNow;
  }

  private expect(stage: SecAggStage, what: string): void {
    if (this.stageNow !== stage) throw new SecAggError('WRONG_STAGE', `${what} arrived at stage "${this.stageNow}"`);
  }

  /** Every refusal that ends the round goes through here: nothing more is requested or revealed. */
  private abandon(message: string): never {
    this.stageNow = 'abandoned';
    throw new SecAggError('BELOW_THRESHOLD', `${message}; the round is abandoned and nothing is revealed`);
  }

  private checkId(id: number, what: string): void {
    if (!Number.isInteger(id) || id < 1 || id > this.shape.setup.participants) throw new SecAggError('UNKNOWN_ID', `${what}: participant ${id} is not on the roster`);
  }

  receiveAdvertise(message: unknown): void {
    this.expect('advertise', 'a key advertisement');
    const msg = parseSecAggMessage(advertiseKeysSchema, message, 'secagg:advertise');
    this.checkId(msg.id, 'secagg:advertise');
    if (this.keys.has(msg.id)) throw new SecAggError('REPLAYED', `participant ${msg.id} already advertised keys`);
    const a = hex(msg.maskPublicKey);
    const b = hex(msg.sharePublicKey);
    if (a === b || this.seenKeys.has(a) || this.seenKeys.has(b)) throw new SecAggError('REPLAYED', `participant ${msg.id} advertised a key already seen this round`);
    this.seenKeys.add(a).add(b);
    this.keys.set(msg.id, msg);
  }

  /** Ends stage 1: each advertiser gets its advertising neighbours' keys. */
  closeAdvertise(): Map<number, NeighbourKeys> {
    this.expect('advertise', 'the end of key advertisement');
    const { threshold } = this.shape.setup;
    const out = new Map<number, NeighbourKeys>();
    for (const id of this.keys.keys()) {
      const peers = this.graph.neighboursOf(id).filter((j) => this.keys.has(j));
      // Too few neighbours to hold its shares: it cannot take part (it would refuse anyway).
      if (peers.length < threshold) continue;
      this.keysSentTo.set(id, new Set(peers));
      out.set(id, { keys: peers.map((j) => ({ id: j, maskPublicKey: this.keys.get(j)!.maskPublicKey, sharePublicKey: this.keys.get(j)!.sharePublicKey })) });
    }
    if (out.size <= threshold) this.abandon(`only ${out.size} participants can share keys`);
    this.stageNow = 'share';
    return out;
  }

  receiveShares(message: unknown): void {
    this.expect('share', 'key shares');
    const msg = parseSecAggMessage(shareKeysSchema, message, 'secagg:share-keys');
    this.checkId(msg.id, 'secagg:share-keys');
    const expected = this.keysSentTo.get(msg.id);
    if (!expected) throw new SecAggError('UNKNOWN_ID', `participant ${msg.id} was not sent neighbour keys`);
    if (this.sharesFrom.has(msg.id)) throw new SecAggError('REPLAYED', `participant ${msg.id} already sent its shares`);
    if (msg.shares.length !== expected.size) throw new SecAggError('WRONG_SHARE_COUNT', `participant ${msg.id} sent ${msg.shares.length} shares for ${expected.size} neighbours`);
    const byReceiver = new Map<number, Bytes>();
    for (const s of msg.shares) {
      if (!expected.has(s.to)) throw new SecAggError('UNKNOWN_ID', `participant ${msg.id} sent a share for ${s.to}, not one of its neighbours`);
      if (byReceiver.has(s.to)) throw new SecAggError('WRONG_SHARE_COUNT', `participant ${msg.id} sent two shares for ${s.to}`);
      if (s.sealed.length !== SEALED_SHARE_BYTES) throw new SecAggError('MALFORMED', 'a sealed share has the wrong length');
      byReceiver.set(s.to, s.sealed);
    }
    this.sharesFrom.set(msg.id, byReceiver);
  }

  /** Ends stage 2: each participant that shared gets the shares made for it by neighbours that shared. */
  closeShares(): Map<number, IncomingShares> {
    this.expect('share', 'the end of key sharing');
    const { threshold } = this.shape.setup;
    const out = new Map<number, IncomingShares>();
    for (const id of this.sharesFrom.keys()) {
      const from = [...this.keysSentTo.get(id)!].filter((j) => this.sharesFrom.get(j)?.has(id));
      if (from.length < threshold) continue;
      this.forwardedTo.set(id, new Set(from));
      out.set(id, { shares: from.map((j) => ({ from: j, sealed: this.sharesFrom.get(j)!.get(id)! })) });
    }
    if (out.size <= threshold) this.abandon(`only ${out.size} participants shared keys`);
    this.stageNow = 'mask';
    return out;
  }

  /** Stage 3: the masked input is added into the running sum at once; nothing per participant is kept. */
  receiveMasked(message: unknown): void {
    this.expect('mask', 'a masked input');
    const msg = parseSecAggMessage(maskedInputSchema, message, 'secagg:masked-input');
    this.checkId(msg.id, 'secagg:masked-input');
    if (!this.forwardedTo.has(msg.id)) throw new SecAggError('UNKNOWN_ID', `participant ${msg.id} was not sent shares`);
    if (this.maskedFrom.has(msg.id)) throw new SecAggError('REPLAYED', `participant ${msg.id} already sent its masked input`);
    addPackedInto(this.sum, msg.masked, this.shape.ringBits);
    this.maskedFrom.add(msg.id);
  }

  /**
   * Ends stage 3. Before asking anyone for anything, checks that every secret it will need can be
   * rebuilt from survivors (t holders each); if not, the round is abandoned with nothing revealed.
   */
  closeMasked(): Map<number, UnmaskingRequest> {
    this.expect('mask', 'the end of masked input');
    const { threshold } = this.shape.setup;
    if (this.maskedFrom.size <= threshold) this.abandon(`only ${this.maskedFrom.size} participants sent masked input`);
    const holders = new Map<number, number>();
    for (const id of this.maskedFrom) for (const j of this.forwardedTo.get(id)!) holders.set(j, (holders.get(j) ?? 0) + 1);
    for (const id of this.maskedFrom) {
      if ((holders.get(id) ?? 0) < threshold) this.abandon(`participant ${id}'s seed has fewer than ${threshold} surviving holders`);
    }
    for (const id of this.forwardedTo.keys()) {
      if (this.maskedFrom.has(id)) continue;
      const usedBySurvivor = [...this.maskedFrom].some((v) => this.forwardedTo.get(v)!.has(id));
      if (usedBySurvivor && (holders.get(id) ?? 0) < threshold) this.abandon(`dropped participant ${id}'s mask key has fewer than ${threshold} surviving holders`);
    }
    const out = new Map<number, UnmaskingRequest>();
    for (const id of this.maskedFrom) {
      const from = [...this.forwardedTo.get(id)!];
      const request = { survivors: from.filter((j) => this.maskedFrom.has(j)), dropped: from.filter((j) => !this.maskedFrom.has(j)) };
      this.unmaskingSentTo.set(id, request);
      out.set(id, request);
    }
    this.stageNow = 'unmask';
    return out;
  }

  receiveUnmasking(message: unknown): void {
    this.expect('unmask', 'unmasking shares');
    const msg = parseSecAggMessage(unmaskingResponseSchema, message, 'secagg:unmasking');
    this.checkId(msg.id, 'secagg:unmasking');
    const asked = this.unmaskingSentTo.get(msg.id);
    if (!asked) throw new SecAggError('UNKNOWN_ID', `participant ${msg.id} was not asked to unmask`);
    if (this.responded.has(msg.id)) throw new SecAggError('REPLAYED', `participant ${msg.id} already answered`);
    const check = (got: readonly { of: number }[], want: readonly number[], kind: string): void => {
      const ids = new Set(got.map((s) => s.of));
      if (got.length !== want.length || ids.size !== got.length || want.some((w) => !ids.has(w))) {
        throw new SecAggError('WRONG_SHARE_COUNT', `participant ${msg.id} sent ${kind} shares for other ids than asked`);
      }
    };
    check(msg.seedShares, asked.survivors, 'seed');
    check(msg.keyShares, asked.dropped, 'mask-key');
    this.responded.add(msg.id);
    for (const s of msg.seedShares) this.seedShares.set(s.of, [...(this.seedShares.get(s.of) ?? []), s.share]);
    for (const s of msg.keyShares) this.keyShares.set(s.of, [...(this.keyShares.get(s.of) ?? []), s.share]);
  }

  /** Rebuilds a secret from t shares and checks it; other t-subsets are tried if a share was bad. */
  private async rebuild(shares: readonly Uint8Array[], check: (secret: Uint8Array) => Promise<boolean>, what: string): Promise<Bytes> {
    const t = this.shape.setup.threshold;
    if (shares.length < t) this.abandon(`${what} has ${shares.length} shares, fewer than ${t}`);
    // First the n cyclic windows of t shares (one of them avoids any single bad share, so one
    // hostile participant can never make reconstruction fail by chance), then random subsets.
    const n = shares.length;
    const windows = n === t ? 1 : n;
    for (let attempt = 0; attempt < windows + RECONSTRUCTION_RETRIES; attempt++) {
      const subset = attempt < windows ? Array.from({ length: t }, (_, i) => shares[(attempt + i) % n]!) : pickSubset(shares, t);
      // The library rejects duplicate x-coordinates; a hostile duplicate is just a bad subset.
      const secret = await combine([...subset]).catch(() => undefined);
      if (secret && (await check(secret))) return secret as Bytes;
      if (shares.length === t) break;
    }
    this.stageNow = 'abandoned';
    throw new SecAggError('RECONSTRUCTION_FAILED', `${what} could not be rebuilt from the shares received; the round is abandoned`);
  }

  /** Ends stage 4: unmasks the sum and decodes the weighted mean. */
  async finish(): Promise<SecAggResult> {
    const { sum, survivors, recovered } = await this.unmask();
    const decoded = decodeSum(this.shape, this.rotation, sum);
    this.stageNow = 'done';
    return {
      ...decoded,
      included: survivors,
      report: {
        advertised: this.keys.size,
        shared: this.sharesFrom.size,
        masked: survivors.length,
        unmasked: this.responded.size,
        bitsPerCoordinate: this.shape.ringBits,
        recoveredDropouts: recovered,
      },
    };
  }

  /** The unmasked ring sum of the survivors' quantized inputs (exact, mod 2^ringBits in the low bits). */
  async unmask(): Promise<{ sum: Uint32Array; survivors: number[]; recovered: number }> {
    this.expect('unmask', 'the end of unmasking');
    const { roundId } = this.shape.setup;
    const { maskedLength } = this.shape;
    const sum = this.sum;
    const survivors = [...this.maskedFrom];
    await inBatches(survivors, MASK_BATCH, async (id) => {
      const commitment = this.keys.get(id)!.seedCommitment;
      const seed = await this.rebuild(this.seedShares.get(id) ?? [], async (s) => equalBytes(await sha256(s), commitment), `participant ${id}'s seed`);
      const self = await expandMask(await selfMaskKey(roundId, id, seed), maskedLength, this.shape.ringBits);
      for (let i = 0; i < maskedLength; i++) sum[i] = sum[i]! - self[i]!;
    });
    const dropped = [...this.forwardedTo.keys()].filter((id) => !this.maskedFrom.has(id) && survivors.some((v) => this.forwardedTo.get(v)!.has(id)));
    for (const gone of dropped) {
      const publicKey = this.keys.get(gone)!.maskPublicKey;
      const secret = await this.rebuild(this.keyShares.get(gone) ?? [], async (sk) => equalBytes(x25519.getPublicKey(sk), publicKey), `participant ${gone}'s mask key`);
      const handle = await importX25519Private(secret);
      const users = survivors.filter((v) => this.forwardedTo.get(v)!.has(gone));
      await inBatches(users, MASK_BATCH, async (v) => {
        const mask = await expandMask(await pairMaskKey(roundId, handle, gone, v, this.keys.get(v)!.maskPublicKey), maskedLength, this.shape.ringBits);
        // v added the mask when v < gone and subtracted it otherwise: undo exactly that.
        if (v < gone) for (let i = 0; i < maskedLength; i++) sum[i] = sum[i]! - mask[i]!;
        else for (let i = 0; i < maskedLength; i++) sum[i] = sum[i]! + mask[i]!;
      });
    }
    this.stageNow = 'done';
    return { sum, survivors: survivors.sort((a, b) => a - b), recovered: dropped.length };
  }
}

function pickSubset<T>(items: readonly T[], k: number): T[] {
  const pool = [...items];
  const words = new Uint32Array(pool.length);
  globalThis.crypto.getRandomValues(words);
  for (let i = pool.length - 1; i > 0; i--) {
    const j = words[i]! % (i + 1);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, k);
}
