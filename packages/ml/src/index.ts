// Public entry point of @chorus/ml: tfjs models, local training and data formats. Browser- and
// worker-safe; Node-only helpers (backend set-up, MNIST from disk) live in ./node/ and are exported
// from '@chorus/ml/node'.
export * from './kernels/wasm-gradient-kernels.js';
export * from './models/templates.js';
export * from './models/model-weights.js';
export * from './training/train-local.js';
export * from './training/duty-cycle.js';
export * from './training/training-options.js';
export * from './training/evaluate.js';
export * from './training/train-personalized.js';
export * from './training/yield-to-event-loop.js';
export * from './data/mnist-shard-format.js';
export * from './models/data-templates.js';
export * from './models/uploaded-model.js';
export * from './models/upload-check.js';
export * from './data/text-features.js';
export * from './data/tabular-csv.js';
export * from './data/next-word-tokens.js';
export * from './models/next-word-template.js';
export * from './training/next-word-metrics.js';
export * from './data/next-word-typing.js';
