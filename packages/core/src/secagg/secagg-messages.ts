/**
 * The four stages' messages, transport-free (bytes are Uint8Array; a transport converts Buffers
 * and ArrayBuffers before parsing). Every message is parsed with these schemas where it enters;
 * what a schema cannot see (ids that are not neighbours, replays) the state machines check.
 */
import { z } from 'zod';
import { describeZodError } from '../errors/zod-error.js';
import { SecAggError } from './secagg-error.js';
import { KEY_BYTES, SEAL_OVERHEAD } from './webcrypto.js';

/** One Shamir share of a 32-byte secret: the 32 bytes and the x-coordinate. */
export const SHARE_BYTES = KEY_BYTES + 1;
/** Plaintext of an encrypted share: sender id, receiver id (uint32 each), seed share, key share. */
export const SHARE_PLAINTEXT_BYTES = 8 + 2 * SHARE_BYTES;
export const SEALED_SHARE_BYTES = SHARE_PLAINTEXT_BYTES + SEAL_OVERHEAD;

const id = z.number().int().min(1).max(100_000);
const bytes = (n: number) => z.instanceof(Uint8Array).refine((b) => b.length === n, `must be ${n} bytes`);
const ids = (max: number) => z.array(id).max(max);

/** Stage 1, participant → server: two public keys and a commitment to the self-mask seed. */
export const advertiseKeysSchema = z.object({
  id,
  maskPublicKey: bytes(KEY_BYTES),
  sharePublicKey: bytes(KEY_BYTES),
  seedCommitment: bytes(32),
});
export type AdvertiseKeys = z.output<typeof advertiseKeysSchema>;

/** Stage 1, server → participant: the keys of its neighbours that advertised. */
export const neighbourKeysSchema = z.object({
  keys: z.array(advertiseKeysSchema.pick({ id: true, maskPublicKey: true, sharePublicKey: true })).max(255),
});
export type NeighbourKeys = z.output<typeof neighbourKeysSchema>;

/** Stage 2, participant → server: one sealed share pair per neighbour it got keys for. */
export const shareKeysSchema = z.object({
  id,
  shares: z.array(z.object({ to: id, sealed: bytes(SEALED_SHARE_BYTES) })).max(255),
});
export type ShareKeys = z.output<typeof shareKeysSchema>;

/** Stage 2, server → participant: the sealed shares its neighbours made for it. */
export const incomingSharesSchema = z.object({
  shares: z.array(z.object({ from: id, sealed: bytes(SEALED_SHARE_BYTES) })).max(255),
});
export type IncomingShares = z.output<typeof incomingSharesSchema>;

/** Stage 3, participant → server: the masked, quantized update, packed at the ring's bits. */
export const maskedInputSchema = z.object({ id, masked: z.instanceof(Uint8Array) });
export type MaskedInput = z.output<typeof maskedInputSchema>;

/**
 * Stage 4, server → participant: of the neighbours that shared with it, which sent masked input
 * (reveal their seed shares) and which did not (reveal their mask-key shares).
 */
export const unmaskingRequestSchema = z.object({ survivors: ids(255), dropped: ids(255) });
export type UnmaskingRequest = z.output<typeof unmaskingRequestSchema>;

/** Stage 4, participant → server: the shares asked for, each under the id it belongs to. */
export const unmaskingResponseSchema = z.object({
  id,
  seedShares: z.array(z.object({ of: id, share: bytes(SHARE_BYTES) })).max(255),
  keyShares: z.array(z.object({ of: id, share: bytes(SHARE_BYTES) })).max(255),
});
export type UnmaskingResponse = z.output<typeof unmaskingResponseSchema>;

/** Parses `value` with `schema`, or throws a MALFORMED SecAggError naming the message and field. */
export function parseSecAggMessage<S extends z.ZodType>(schema: S, value: unknown, name: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new SecAggError('MALFORMED', `${name}: ${describeZodError(parsed.error)}`, { path: name });
  return parsed.data;
}
