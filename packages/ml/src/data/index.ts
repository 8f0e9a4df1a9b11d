// '@chorus/ml/data': the browser-safe data helpers without TensorFlow.js, for pages that only read
// CSVs or vectorize text (the admin console, the participant page's main thread).
export * from './tabular-csv.js';
export * from './text-features.js';
export * from './next-word-tokens.js';
export * from './next-word-typing.js';
