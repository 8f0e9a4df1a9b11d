import { dpOptionsSchema, type TaskConfig, type TaskInfo } from '@chorus/core';

/**
 * The privacy a participant's contribution gets, as told on join: local DP it must apply itself,
 * and the server-side DP of the strategy (read from `strategy.options.dp`, already validated when
 * the task was created). Undefined when the task has neither, so older clients see no change.
 */
export function taskPrivacyInfo(config: TaskConfig): TaskInfo['privacy'] {
  const localDp = config.privacy?.localDp;
  const dp = dpOptionsSchema.safeParse(config.strategy.options.dp);
  const central = config.strategy.options.dp !== undefined && dp.success
    ? { noiseMultiplier: dp.data.noiseMultiplier, targetDelta: dp.data.targetDelta, ...(dp.data.epsilonBudget !== undefined ? { epsilonBudget: dp.data.epsilonBudget } : {}) }
    : undefined;
  if (!localDp && !central) return undefined;
  return { ...(localDp ? { localDp: { clipNorm: localDp.clipNorm, noiseMultiplier: localDp.noiseMultiplier } } : {}), ...(central ? { central } : {}) };
}
