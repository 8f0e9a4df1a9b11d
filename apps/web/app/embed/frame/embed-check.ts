import { checkEmbedding, normalizeOrigin } from '@chorus/embed';

export interface EmbedTask {
  readonly name: string;
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  readonly dataset: string | null;
}

/** What a visit does where the browser blocks the frame's storage (the partner key decides). */
export type StorageFallback = 'memory' | 'link';

export type EmbedDecision =
  | { readonly allowed: true; readonly origin: string; readonly task: EmbedTask; readonly storageFallback: StorageFallback }
  | { readonly allowed: false; readonly code: string; readonly reason: string; readonly origin: string | null };

export const REFUSAL_HEADLINE = 'This site is not allowed to contribute to this Chorus task';

/**
 * Decided on the Next server before any script runs in the frame: the Referer (the loader asks for
 * at least the origin) must agree with the `parent` param, and the aggregation server must allow the
 * key for that task and origin. The browser side cross-checks ancestorOrigins again.
 */
export async function decideEmbedding(input: { serverUrl: string; taskId: string; key: string; parent: string; referer: string | null }): Promise<EmbedDecision> {
  const origin = normalizeOrigin(input.parent);
  const refuse = (code: string, reason: string): EmbedDecision => ({ allowed: false, code, reason, origin });
  if (!input.taskId || !input.key) return refuse('BAD_REQUEST', 'The Chorus tag on this site is missing its data-task or data-key.');
  const byReferer = checkEmbedding({ framed: true, parentParam: input.parent, referrer: input.referer });
  if (!byReferer.ok) return refuse('FORBIDDEN', byReferer.reason);
  const q = new URLSearchParams({ key: input.key, task: input.taskId, origin: byReferer.origin });
  try {
    const res = await fetch(`${input.serverUrl}/api/embed/check?${q.toString()}`, { cache: 'no-store', signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { allowed?: boolean; code?: string; reason?: string; task?: EmbedTask; storageFallback?: string };
    if (res.ok && body.allowed === true && body.task) {
      return { allowed: true, origin: byReferer.origin, task: body.task, storageFallback: body.storageFallback === 'link' ? 'link' : 'memory' };
    }
    return refuse(body.code ?? 'FORBIDDEN', body.reason ?? `${REFUSAL_HEADLINE}.`);
  } catch {
    return refuse('UNAVAILABLE', 'Chorus cannot be reached right now. Nothing was started.');
  }
}
