import { dpOptionsSchema, type DpOptions, type TaskConfig } from '@chorus/core';

/** The strategy's central DP options (validated when the task was created), if it has any. */
export function centralDp(config: TaskConfig): DpOptions | undefined {
  if (config.strategy.options.dp === undefined) return undefined;
  const parsed = dpOptionsSchema.safeParse(config.strategy.options.dp);
  return parsed.success ? parsed.data : undefined;
}
