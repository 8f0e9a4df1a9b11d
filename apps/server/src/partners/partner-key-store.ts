import { ChorusError, STORAGE_FALLBACKS, type PartnerKeyUsage } from '@chorus/core';
import { checkOriginPattern, PARTNER_KEY_PATTERN, type PartnerKey } from './partner-key.js';

/** What came through one key: the console's partner page shows it. */
export type { PartnerKeyUsage } from '@chorus/core';

/**
 * Partner keys, the per-day visitor log and usage. Part of `Storage` (`storage.partnerKeys`):
 * every implementation keeps the quota race-free across server processes.
 */
export interface PartnerKeyStore {
  get(id: string): Promise<PartnerKey | null>;
  list(): Promise<PartnerKey[]>;
  /** Creates or replaces a key. Throws on a malformed id or origin pattern (checkPartnerKey). */
  put(key: PartnerKey): Promise<void>;
  /**
   * Records that `visitor` came through `keyId` on `day`, unless the key's quota for that day is
   * already used up by other visitors. Returns whether the visit counts as allowed.
   */
  admitVisitor(key: PartnerKey, day: string, visitor: string): Promise<boolean>;
  visitorsOn(keyId: string, day: string): Promise<number>;
  /** Deletes a key with its visitor log and usage. Returns whether it existed. */
  remove(id: string): Promise<boolean>;
  /** Remembers that `participantId` joined `taskId` through `keyId` on `day`. */
  recordParticipant(keyId: string, taskId: string, participantId: string, day: string): Promise<void>;
  /** Counts one accepted update contributed through `keyId` on `day`. */
  recordAcceptedUpdate(keyId: string, day: string): Promise<void>;
  usage(keyId: string, day: string): Promise<PartnerKeyUsage>;
}

/** The checks every implementation runs before it stores a key. */
export function checkPartnerKey(key: PartnerKey): void {
  if (!PARTNER_KEY_PATTERN.test(key.id)) throw new ChorusError('INVALID_CONFIG', `id: a partner key looks like "pk_…", got "${key.id}"`);
  key.allowedOrigins.forEach(checkOriginPattern);
  if (!Number.isInteger(key.quotaPerDay) || key.quotaPerDay < 0) throw new ChorusError('INVALID_CONFIG', `quotaPerDay: expected an integer ≥ 0, got ${key.quotaPerDay}`);
  if (!(STORAGE_FALLBACKS as readonly string[]).includes(key.storageFallback)) {
    throw new ChorusError('INVALID_CONFIG', `storageFallback: expected ${STORAGE_FALLBACKS.join(' or ')}, got "${String(key.storageFallback)}"`);
  }
}

/** A stored key row (both databases use the same column names). */
export type PartnerKeyRow = { id: string; name: string; allowed_origins: string; allowed_tasks: string; quota_per_day: number | string; active: number | boolean; storage_fallback: string };

export const partnerKeyFromRow = (r: PartnerKeyRow): PartnerKey => ({
  id: r.id,
  name: r.name,
  allowedOrigins: JSON.parse(r.allowed_origins) as string[],
  allowedTasks: JSON.parse(r.allowed_tasks) as string[],
  quotaPerDay: Number(r.quota_per_day),
  active: Number(r.active) === 1,
  storageFallback: r.storage_fallback === 'link' ? 'link' : 'memory',
});
