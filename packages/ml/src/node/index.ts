// Node-only entry point of @chorus/ml (simulator, server-side evaluation, build scripts).
export * from './node-backend.js';
export * from './mnist.js';
export * from './spam-assassin.js';
export * from './sotu.js';
