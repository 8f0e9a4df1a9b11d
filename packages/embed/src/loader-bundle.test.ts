import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';
import { describe, expect, it } from 'vitest';

describe('embed.js bundle', () => {
  it('stays under 6 KB gzipped and carries no training code (tfjs, workers, sockets load only in the iframe)', async () => {
    const outDir = mkdtempSync(path.join(tmpdir(), 'chorus-embed-'));
    try {
      await build({ configFile: path.resolve(import.meta.dirname, '../vite.config.ts'), logLevel: 'silent', build: { outDir } });
      const code = readFileSync(path.join(outDir, 'embed.js'), 'utf8');
      const gzipBytes = gzipSync(code, { level: 9 }).length;

      expect(gzipBytes).toBeLessThanOrEqual(6 * 1024);
      expect(code).not.toMatch(/tensorflow|tfjs|new Worker|socket\.io|indexedDB/i);
      expect(code.startsWith('(function(){')).toBe(true);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });
});
