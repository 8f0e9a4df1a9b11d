import type { PartnerKeyWithUsage, StorageFallback } from '@chorus/core';

/** A partner key as GET /api/partner-keys lists it. */
export type PartnerKeyRow = PartnerKeyWithUsage;

/** What the operator types: one origin or task per line (commas work too). */
export interface PartnerKeyDraft {
  id: string;
  name: string;
  origins: string;
  tasks: string;
  quota: string;
  active: boolean;
  /** Where the browser blocks the frame's storage: train from memory, or link to the Chorus page. */
  storageFallback: StorageFallback;
}

/** How the console words each choice. */
export const STORAGE_FALLBACK_TEXT: Record<StorageFallback, string> = {
  memory: 'Train from memory (nothing kept after the tab closes)',
  link: 'Explain and link to the Chorus participant page',
};

export const EMPTY_DRAFT: PartnerKeyDraft = { id: '', name: '', origins: '', tasks: '*', quota: '1000', active: true, storageFallback: 'memory' };

export const splitList = (text: string): string[] =>
  text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

export const draftOf = (k: PartnerKeyRow): PartnerKeyDraft => ({
  id: k.id,
  name: k.name,
  origins: k.allowedOrigins.join('\n'),
  tasks: k.allowedTasks.join('\n'),
  quota: String(k.quotaPerDay),
  active: k.active,
  storageFallback: k.storageFallback,
});

/** The request body for POST (new: id optional) or PUT (edit); a plain-words error for the form otherwise. */
export function bodyOf(draft: PartnerKeyDraft, isNew: boolean): { body: Record<string, unknown> } | { error: string } {
  const allowedOrigins = splitList(draft.origins);
  const allowedTasks = splitList(draft.tasks);
  const quotaPerDay = Number(draft.quota);
  if (!draft.name.trim()) return { error: 'Give the partner a name.' };
  if (allowedOrigins.length === 0) return { error: 'List at least one site origin, like https://news.example.' };
  if (allowedTasks.length === 0) return { error: 'List at least one task id, or * for every task.' };
  if (!Number.isInteger(quotaPerDay) || quotaPerDay < 0) return { error: 'Visitors per day must be a whole number (0 means no limit).' };
  const id = draft.id.trim();
  return { body: { ...(isNew && id ? { id } : {}), name: draft.name.trim(), allowedOrigins, allowedTasks, quotaPerDay, active: draft.active, storageFallback: draft.storageFallback } };
}
