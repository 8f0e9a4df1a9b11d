import { describe, expect, it } from 'vitest';
import { taskConfigSchema } from '@chorus/core';
import { taskPrivacyInfo } from './task-privacy-info.js';

const base = { id: 't', name: 'T', data: { kind: 'image', inputShape: [2], numClasses: 2 } } as const;

describe('taskPrivacyInfo (sent to participants in TaskInfo)', () => {
  it('is absent for a task without DP, so older clients see the same TaskInfo', () => {
    expect(taskPrivacyInfo(taskConfigSchema.parse({ ...base, strategy: { id: 'fedavg', options: {} } }))).toBeUndefined();
  });

  it('carries local DP and the strategy’s central DP with its default δ', () => {
    // Prepare
    const config = taskConfigSchema.parse({
      ...base,
      strategy: { id: 'fedavg', options: { dp: { clipNorm: 1, noiseMultiplier: 0.8, epsilonBudget: 4 } } },
      privacy: { localDp: { clipNorm: 2, noiseMultiplier: 0.1 } },
    });
    // Execute
    const info = taskPrivacyInfo(config);
    // Assert
    expect(info).toEqual({ localDp: { clipNorm: 2, noiseMultiplier: 0.1 }, central: { noiseMultiplier: 0.8, targetDelta: 1e-5, epsilonBudget: 4 } });
  });

  it('refuses an unknown local DP option at task creation, naming it', () => {
    const parsed = taskConfigSchema.safeParse({ ...base, strategy: { id: 'fedavg' }, privacy: { localDp: { clipNorm: 1, noiseMultiplier: 0, sigma: 3 } } });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]!.path).toEqual(['privacy', 'localDp']);
  });
});
