import { z } from 'zod';

/** How many metrics a message may carry, and how long a metric's name may be. */
export const METRIC_LIMITS = { maxMetrics: 32, maxNameLength: 64 } as const;

/** Named finite numbers (loss, accuracy, …) as they travel in updates and model:updated. */
export const metricsSchema = z
  .record(z.string().max(METRIC_LIMITS.maxNameLength), z.number().finite())
  .refine((m) => Object.keys(m).length <= METRIC_LIMITS.maxMetrics, `at most ${METRIC_LIMITS.maxMetrics} metrics`);

/**
 * Metrics cut to what metricsSchema accepts: finite numbers only, the first maxMetrics of them,
 * names shortened to maxNameLength. For a sender that would rather trim than be refused.
 */
export function boundMetrics(metrics: Readonly<Record<string, unknown>> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(metrics ?? {}).slice(0, METRIC_LIMITS.maxMetrics)) {
    if (typeof v === 'number' && Number.isFinite(v)) out[k.slice(0, METRIC_LIMITS.maxNameLength)] = v;
  }
  return out;
}
