/**
 * The embed frame's Content-Security-Policy: only the origins the partner key allows may frame
 * /embed/frame (clickjacking a consent or status frame from another site is refused by the browser,
 * not just by our own checks). The origins come from the aggregation server's public
 * GET /api/embed/frame-ancestors?key=, cached briefly so a busy partner page costs one lookup per key
 * every few seconds.
 */

/** `frame-ancestors` for these origins; `'none'` when there are none (unknown, switched-off key). */
export function frameAncestorsPolicy(origins: readonly string[]): string {
  // Only origin-shaped sources: a stray quote, space or semicolon must not extend the policy.
  const safe = origins.filter((o) => /^https?:\/\/[a-z0-9.[\]:-]+(:(\d{1,5}|\*))?$/i.test(o));
  return `frame-ancestors ${safe.length > 0 ? safe.join(' ') : "'none'"}`;
}

export interface FrameAncestorsLookup {
  /** The policy for `key` (a cached answer when fresh enough). */
  policyFor(key: string): Promise<string>;
}

export interface FrameAncestorsLookupOptions {
  readonly serverUrl: string;
  /** @default 15_000 */
  readonly ttlMs?: number;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default Date.now */
  readonly now?: () => number;
}

export function createFrameAncestorsLookup(options: FrameAncestorsLookupOptions): FrameAncestorsLookup {
  const ttlMs = options.ttlMs ?? 15_000;
  const doFetch = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { policy: string; until: number }>();
  return {
    async policyFor(key) {
      const hit = cache.get(key);
      if (hit && hit.until > now()) return hit.policy;
      let origins: readonly string[] = [];
      try {
        const res = await doFetch(`${options.serverUrl}/api/embed/frame-ancestors?key=${encodeURIComponent(key)}`, { cache: 'no-store', signal: AbortSignal.timeout(5000) });
        const body = (await res.json()) as { origins?: unknown };
        if (res.ok && Array.isArray(body.origins)) origins = body.origins.filter((o): o is string => typeof o === 'string');
      } catch {
        // Server unreachable: frame nowhere (the frame could not start anyway), and do not cache it.
        return frameAncestorsPolicy([]);
      }
      const policy = frameAncestorsPolicy(origins);
      if (cache.size > 1000) cache.clear();
      cache.set(key, { policy, until: now() + ttlMs });
      return policy;
    },
  };
}
