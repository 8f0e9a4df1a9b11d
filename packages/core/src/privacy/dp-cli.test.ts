import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { computeRdp, DEFAULT_RDP_ORDERS, rdpToEpsilon } from './rdp-accountant.js';

const CLI = fileURLToPath(new URL('./dp-cli.ts', import.meta.url));

function dp(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

describe('npm run dp', () => {
  it('prints the TF Privacy MNIST epsilon as JSON', () => {
    // Execute
    const r = dp('epsilon', '--sample-rate', String(256 / 60000), '--noise-multiplier', '1.1', '--steps', '14062', '--delta', '1e-5', '--conversion', 'classic', '--json');
    // Assert
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { epsilon: number; order: number };
    expect(out.epsilon).toBeCloseTo(3.01, 2);
    expect(out.order).toBe(8.8);
  });

  it('finds the noise multiplier for a target epsilon', () => {
    const r = dp('noise', '--sample-rate', '0.01', '--steps', '1000', '--delta', '1e-5', '--epsilon', '3', '--json');
    expect(r.code).toBe(0);
    const { noiseMultiplier } = JSON.parse(r.stdout) as { noiseMultiplier: number };
    const eps = rdpToEpsilon(DEFAULT_RDP_ORDERS, computeRdp(0.01, noiseMultiplier, 1000), 1e-5).epsilon;
    expect(eps).toBeLessThanOrEqual(3);
    expect(eps).toBeGreaterThan(2.99);
  });

  it('exits 2 naming the bad flag', () => {
    const r = dp('epsilon', '--sample-rate', '1.5', '--noise-multiplier', '1', '--steps', '10', '--delta', '1e-5');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^dp: --sample-rate must be a number in \(0, 1\], got "1.5"/);
    const missing = dp('noise', '--sample-rate', '0.1', '--steps', '10', '--delta', '1e-5');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^dp: --epsilon is required/);
  });
});
