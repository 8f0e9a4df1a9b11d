// Public entry point of @chorus/simulator: run federated simulations as a library (benchmarks).
export { runSimulation } from './simulation.js';
export type { RoundReport } from './simulation.js';
export {
  resolveSimulationOptions,
  targetClients,
  DEFAULT_SIMULATION_OPTIONS,
  SIMULATION_MODELS,
  FULL_BATCH,
} from './simulation-options.js';
export type { SimulationOptions, SimulationAttack, SimulationModel } from './simulation-options.js';
