import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Library-mode build of the script-tag loader into the repository's public/embed.js: one classic
 * (IIFE) script, because partners paste a plain `<script async>` tag, not a module.
 */
export default defineConfig({
  logLevel: 'warn',
  build: {
    lib: {
      entry: fileURLToPath(new URL('./src/loader.ts', import.meta.url)),
      name: 'ChorusEmbed',
      formats: ['iife'],
      fileName: () => 'embed.js',
    },
    outDir: `${root}public`,
    // public/ also holds other built assets: replace only our file.
    emptyOutDir: false,
    target: 'es2020',
    minify: true,
    sourcemap: false,
    copyPublicDir: false,
  },
});
