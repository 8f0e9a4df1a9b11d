// Public entry point of @chorus/core. Pure TypeScript: no DOM, no Node APIs.
export * from './errors/chorus-error.js';
export * from './weights/layout.js';
export * from './codecs/codec.js';
export * from './strategies/strategy.js';
export * from './strategies/registry.js';
export * from './protocol/version.js';
export * from './protocol/task.js';
export * from './protocol/messages.js';
export * from './random/seeded-random.js';
export * from './data/dataset.js';
export * from './data/partition.js';
export * from './data/partition-dirichlet.js';
