import path from 'node:path';
import type { NextConfig } from 'next';

const config: NextConfig = {
  // The monorepo root: workspace packages resolve from its node_modules.
  turbopack: { root: path.resolve(import.meta.dirname, '../..') },
  // Workspace packages export their TypeScript sources.
  transpilePackages: ['@chorus/client', '@chorus/core', '@chorus/ml', '@chorus/embed'],
  // Partners embed `<script src="…/embed.js">`; the built loader is served by the /embed/loader.js route.
  rewrites: async () => [{ source: '/embed.js', destination: '/embed/loader.js' }],
  reactStrictMode: true,
  poweredByHeader: false,
};

export default config;
