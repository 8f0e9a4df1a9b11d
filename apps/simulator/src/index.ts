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
export { runVirtualSimulation, type VirtualRoundReport, type VirtualSimulationResult } from './virtual/virtual-simulation.js';
export { resolveVirtualOptions, type VirtualSimulationOptions, type VirtualSimulationInput } from './virtual/virtual-options.js';
export { DEFAULT_DEVICE_PROFILE, PER_UPDATE_DROPOUT_PROFILE, UNIFORM_DEVICE_PROFILE, BUILT_IN_PROFILES, deviceProfileSchema, resolveDeviceProfile, drawDeviceTraits, type DeviceProfile, type DeviceProfileInput, type DeviceTraits } from './virtual/device-profile.js';
export { VirtualClock } from './virtual/virtual-clock.js';
