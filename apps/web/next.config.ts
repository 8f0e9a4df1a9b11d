import path from 'node:path';
import type { NextConfig } from 'next';

const config: NextConfig = {
  // The monorepo root: workspace packages resolve from its node_modules.
  turbopack: { root: path.resolve(import.meta.dirname, '../..') },
  // Workspace packages export their TypeScript sources.
  transpilePackages: ['@chorus/client', '@chorus/core', '@chorus/ml'],
  reactStrictMode: true,
  poweredByHeader: false,
};

export default config;
