import { fedAvgRegistration } from './fedavg.js';
import { OPTIMIZER_STRATEGIES } from './optimizer-strategies.js';
import type { StrategyRegistration } from './strategy-registration.js';

/** Every strategy shipped with Chorus; the strategy registry starts with these. */
export const BUILTIN_STRATEGIES: readonly StrategyRegistration[] = [fedAvgRegistration, ...OPTIMIZER_STRATEGIES];
