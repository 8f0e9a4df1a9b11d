/** Reads one process's Prometheus text (GET /metrics; loopback callers may scrape without a token). */

/** The sum of every sample of `metric` whose labels include `labels` (0 when there is none). */
export function metricSum(text: string, metric: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== metric) continue;
    const have = new Map<string, string>();
    for (const pair of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have.set(pair[1]!, pair[2]!);
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(m[4]);
  }
  return sum;
}

/** GET <processUrl>/metrics as text. */
export async function scrape(processUrl: string): Promise<string> {
  const res = await fetch(`${processUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET ${processUrl}/metrics: HTTP ${res.status}`);
  return res.text();
}
