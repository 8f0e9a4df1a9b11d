import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ChorusError } from '@chorus/core';
import { parseSimulateArgs } from './cli.js';
import { resolveVirtualOptions } from './virtual/virtual-options.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../../..');

async function simulate(args: string[], timeout = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'apps/simulator/src/cli.ts', ...args], { cwd: root, timeout });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function parseError(argv: string[]): ChorusError {
  try {
    parseSimulateArgs(argv);
  } catch (err) {
    return err as ChorusError;
  }
  throw new Error(`expected ${argv.join(' ')} to be rejected`);
}

describe('simulate CLI', () => {
  it('exits non-zero naming --clients when it is 0', async () => {
    const { code, stderr } = await simulate(['--clients', '0']);
    expect(code).toBe(2);
    expect(stderr).toContain('--clients: expected an integer from 1 to 10000, got 0');
  });

  it('exits non-zero naming --partition when it is not a known spec', async () => {
    const { code, stderr } = await simulate(['--partition', 'bogus']);
    expect(code).toBe(2);
    expect(stderr).toContain('--partition');
    expect(stderr).toContain('"bogus"');
  });

  it('prints exactly one JSON object per round on stdout with --json, and exits 0', async () => {
    const { code, stdout } = await simulate(['--clients', '20', '--rounds', '2', '--fraction', '0.1', '--codec', 'float16', '--json'], 90_000);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.round)).toEqual([1, 2]);
    for (const l of lines) {
      expect(Object.keys(l)).toEqual(expect.arrayContaining(['round', 'accuracy', 'loss', 'participants', 'failures', 'bytesUp', 'bytesDown', 'durationMs']));
      expect(l.participants).toBe(2);
      // float16: two bytes per parameter of the 2NN, from each of the two clients.
      expect(l.bytesUp).toBeGreaterThan(2 * 2 * 199_210);
      expect(l.bytesUp).toBeLessThan(2 * 2 * 199_210 + 4096);
    }
  }, 100_000);

  it('names the flag the user typed for every invalid option', () => {
    expect(parseError(['--local-epochs', 'five']).message).toBe('--local-epochs: expected an integer from 1 to 100, got "five"');
    expect(parseError(['--fraction', '1.5']).message).toBe('--fraction: expected a number in (0, 1], got 1.5');
    expect(parseError(['--model', 'resnet']).message).toContain('--model: expected one of mnist-2nn, mnist-cnn');
    expect(parseError(['--codec', 'int4']).message).toContain('--codec: expected one of float32, float16, int8');
    expect(parseError(['--batch-size', '-3']).message).toContain('--batch-size');
    expect(parseError(['--server', 'ftp://x']).message).toContain('--server');
    expect(parseError(['--strategy-options', '[1]']).message).toBe('--strategy-options: expected a JSON object, got "[1]"');
  });

  it('turns --local-dp C,σ into the task’s local DP and names the flag when it is wrong', () => {
    expect(parseSimulateArgs(['--local-dp', '1.5,0.1']).options.privacy).toEqual({ localDp: { clipNorm: 1.5, noiseMultiplier: 0.1 } });
    expect(parseError(['--local-dp', 'strong']).message).toBe('--local-dp: expected "CLIP,NOISE" (clip norm and noise multiplier, e.g. 1,0.1), got "strong"');
    expect(parseError(['--local-dp', '0,0.1']).message).toContain('--local-dp: expected local DP with clipNorm > 0 and noiseMultiplier ≥ 0 (localDp.clipNorm: must be > 0)');
  });

  it('gives nextword-gru the by-president split and refuses any other partition for it', () => {
    expect(parseSimulateArgs('--model nextword-gru --clients 43 --max-examples 200'.split(' ')).options).toMatchObject({ model: 'nextword-gru', partition: 'by-president', clients: 43, maxExamples: 200 });
    expect(parseError(['--model', 'nextword-gru', '--partition', 'iid']).message).toBe('--partition: expected "by-president" for nextword-gru, got "iid"');
    expect(parseError(['--partition', 'by-president']).message).toContain('--partition: expected "iid", "shards:K"');
    expect(parseError(['--max-examples', '-1']).message).toBe('--max-examples: expected an integer from 0 to 1000000, got -1');
  });

  it('turns --personalization and --client-holdout into options, naming the flag when wrong', () => {
    const { options } = parseSimulateArgs(['--personalization', 'fedrep', '--client-holdout', '0.2']);
    expect(options.personalization).toEqual({ method: 'fedrep' });
    expect(options.clientHoldout).toBe(0.2);
    expect(parseSimulateArgs(['--personalization', 'ditto', '--ditto-lambda', '0.5']).options.personalization).toEqual({ method: 'ditto', lambda: 0.5 });
    expect(parseError(['--personalization', 'pfedme']).message).toMatch(/^--personalization: expected a personalization config \(method: Invalid option: expected one of "fedper"\|"fedrep"\|"ditto"\)/);
    expect(parseError(['--personalization', 'ditto', '--ditto-lambda', '-1']).message).toMatch(/^--personalization: expected a personalization config \(lambda: must be in \[0, 100\]\)/);
    expect(parseError(['--personalization', 'fedper', '--ditto-lambda', '1']).message).toBe('--ditto-lambda: applies only with --personalization ditto');
    expect(parseError(['--client-holdout', '0.9']).message).toBe('--client-holdout: expected a fraction in [0.05, 0.5], got 0.9');
  });

  it('turns the FedAvg paper settings into simulation options', () => {
    const { options, json } = parseSimulateArgs(
      '--clients 100 --rounds 20 --model mnist-cnn --partition shards:2 --fraction 0.1 --local-epochs 5 --batch-size full --codec int8 --strategy fedavg --seed 7 --json'.split(' '),
    );
    expect(json).toBe(true);
    expect(options).toMatchObject({
      clients: 100,
      rounds: 20,
      model: 'mnist-cnn',
      partition: 'shards:2',
      fraction: 0.1,
      localEpochs: 5,
      batchSize: 'full',
      codec: 'int8',
      strategy: { id: 'fedavg', options: {} },
      seed: 7,
    });
  });
  it('runs a heterogeneous population on the virtual clock with --virtual-clock --profile default: JSON rounds then the totals', async () => {
    const { code, stdout } = await simulate('--virtual-clock --profile default --clients 12 --rounds 2 --fraction 0.25 --max-examples 40 --eval-examples 300 --seed 2 --json'.split(' '), 120_000);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.kind)).toEqual(['round', 'round', 'final']);
    expect(lines[2]).toMatchObject({ seed: 2, versions: 2, stoppedBy: 'rounds', profile: expect.objectContaining({ id: 'default' }) });
    expect(lines[1]!.simulatedMs as number).toBeGreaterThan(lines[0]!.simulatedMs as number);
  }, 150_000);

  it('turns the virtual-clock flags into options and names the flag when one is wrong or used without --virtual-clock', () => {
    const { virtual } = parseSimulateArgs('--virtual-clock --profile uniform --over-selection 1.5 --measured-speeds 80,240 --selection oort --time-budget-min 30'.split(' '));
    expect(virtual).toMatchObject({ overSelection: 1.5, selection: { id: 'oort' }, timeBudgetMin: 30, profile: { id: 'uniform', measuredExamplesPerSec: [80, 240] } });
    expect(parseError('--virtual-clock --profile phones'.split(' ')).message).toContain('profile');
    expect(parseError('--virtual-clock --over-selection 9'.split(' ')).message).toContain('--over-selection');
    expect(parseError('--virtual-clock --measured-speeds 10,-1'.split(' ')).message).toContain('--measured-speeds');
    expect(parseError('--profile default'.split(' ')).message).toContain('--profile: only with --virtual-clock');
    expect(parseSimulateArgs('--virtual-clock --mode async --buffer-size 5 --max-staleness 3 --staleness-weight constant'.split(' ')).virtual?.taskExtras).toEqual({ mode: 'async', async: { bufferSize: 5, maxStaleness: 3, stalenessWeight: 'constant' } });
    expect(parseError('--virtual-clock --buffer-size 5'.split(' ')).message).toContain('--buffer-size: only with --mode async');
    // Over real sockets too: an async task (with --secure-aggregation, secure cohorts).
    expect(parseSimulateArgs('--mode async --buffer-size 4 --secure-aggregation 4,3'.split(' ')).options).toMatchObject({ async: { bufferSize: 4 }, secureAggregation: { neighbours: 4, threshold: 3 } });
    expect(parseSimulateArgs([]).options.async).toBeUndefined();
    expect(parseError('--buffer-size 5'.split(' ')).message).toContain('--buffer-size: only with --mode async');
    expect(parseError('--virtual-clock --mode later'.split(' ')).message).toContain('--mode: expected sync or async');
  });

  it('refuses, naming the flag, the options the virtual devices would silently ignore; keeps --local-dp, which they apply', () => {
    expect(parseError('--virtual-clock --secure-aggregation 20,11'.split(' ')).message).toMatch(/^--secure-aggregation: expected no secure aggregation/);
    expect(parseError('--virtual-clock --client-holdout 0.2'.split(' ')).message).toMatch(/^--client-holdout: expected no client holdout/);
    expect(parseError('--virtual-clock --download-codec int8'.split(' ')).message).toMatch(/^--download-codec: expected no download codec/);
    // Programmatic options the virtual clock has no use for are refused by name too.
    expect(() => resolveVirtualOptions({ taskId: 'mine' })).toThrow(/^taskId: expected no task id/);
    expect(() => resolveVirtualOptions({ attack: { transformDelta: () => undefined } })).toThrow(/^attack: expected no attack hooks/);
    expect(parseSimulateArgs('--virtual-clock --local-dp 1,0.1'.split(' ')).virtual?.privacy).toEqual({ localDp: { clipNorm: 1, noiseMultiplier: 0.1 } });
  });
});
