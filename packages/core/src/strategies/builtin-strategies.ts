import { fedAvgRegistration } from './fedavg.js';
import { OPTIMIZER_STRATEGIES } from './optimizer-strategies.js';
import { registerStrategy } from './registry.js';
import type { StrategyRegistration } from './registry.js';

/** Every strategy shipped with Chorus. Importing this module (index.ts does) registers them once. */
export const BUILTIN_STRATEGIES: readonly StrategyRegistration[] = [fedAvgRegistration, ...OPTIMIZER_STRATEGIES];

for (const reg of BUILTIN_STRATEGIES) registerStrategy(reg);
