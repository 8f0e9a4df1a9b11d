/** Most distinct client metric names one round keeps; the wire schema allows 32 per client. */
const MAX_KEYS = 64;

export interface ClientMetricsMean {
  add(metrics: Readonly<Record<string, number>>, weight: number): void;
  /** Weighted mean of each metric over the clients that reported it (e.g. loss, accuracy). */
  result(): Record<string, number>;
}

/** Example-weighted means of what clients report about their local training. */
export function createClientMetricsMean(): ClientMetricsMean {
  const sums = new Map<string, { total: number; weight: number }>();
  return {
    add(metrics, weight) {
      for (const [key, value] of Object.entries(metrics)) {
        if (!Number.isFinite(value)) continue;
        let entry = sums.get(key);
        if (!entry) {
          if (sums.size >= MAX_KEYS) continue;
          entry = { total: 0, weight: 0 };
          sums.set(key, entry);
        }
        entry.total += value * weight;
        entry.weight += weight;
      }
    },
    result() {
      const out: Record<string, number> = {};
      for (const [key, { total, weight }] of sums) if (weight > 0) out[key] = total / weight;
      return out;
    },
  };
}
