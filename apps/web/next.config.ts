import path from 'node:path';
import type { NextConfig } from 'next';

/**
 * The participant page and the device check are cross-origin isolated (COOP + COEP), so their
 * trainer worker gets SharedArrayBuffer and tfjs-backend-wasm runs threaded. COEP require-corp
 * blocks cross-origin no-cors loads without CORP: the page loads none (fonts and scripts are
 * same-origin; the Chorus server is reached by CORS fetches and a WebSocket, which COEP allows).
 * The trainer worker's script must carry COEP too, or an isolated page may not start it: hence
 * the header on /_next/static (and on the wasm and data files the worker fetches). /embed/frame
 * gets neither: it lives in partners' pages, which are not isolated, and runs one thread.
 */
const ISOLATED = [
  { key: 'Cross-Origin-Opener-Policy', value: 'same-origin' },
  { key: 'Cross-Origin-Embedder-Policy', value: 'require-corp' },
];
const WORKER_ASSETS = [{ key: 'Cross-Origin-Embedder-Policy', value: 'require-corp' }];

const config: NextConfig = {
  // The monorepo root: workspace packages resolve from its node_modules.
  turbopack: { root: path.resolve(import.meta.dirname, '../..') },
  // Workspace packages export their TypeScript sources.
  transpilePackages: ['@chorus/client', '@chorus/core', '@chorus/ml', '@chorus/embed'],
  // Partners embed `<script src="…/embed.js">`; the built loader is served by the /embed/loader.js route.
  rewrites: async () => [{ source: '/embed.js', destination: '/embed/loader.js' }],
  headers: async () => [
    { source: '/', headers: ISOLATED },
    { source: '/device-check', headers: ISOLATED },
    { source: '/_next/static/:path*', headers: WORKER_ASSETS },
    { source: '/tfjs-wasm/:path*', headers: WORKER_ASSETS },
    { source: '/data/:path*', headers: WORKER_ASSETS },
  ],
  reactStrictMode: true,
  poweredByHeader: false,
};

export default config;
