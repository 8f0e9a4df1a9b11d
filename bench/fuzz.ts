/**
 * Hostile participants at length: seeded malformed and extreme messages and payloads against a real
 * server on loopback while honest participants train (apps/server/src/fuzz). The suite runs 3,000
 * cases; this runs as many as asked.
 *
 *   npm run bench -- fuzz -- --messages 100000 [--seed 1] [--attackers 4]
 *
 * Prints `crashes`, `hangs`, `nonFiniteVersions` (all must be 0), `untypedAnswers` (must be 0) and
 * `rssGrowth` (MB the process grew over the run: a leak shows as growth that scales with messages).
 */
import { runFuzz } from '../apps/server/src/fuzz/fuzz-driver.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name}: expected a positive integer, got "${process.argv[i + 1]}"`);
  return v;
}

export async function run(): Promise<Record<string, unknown>> {
  const cases = flag('messages', 10_000);
  const started = performance.now();
  const bar = (done: number, total: number) => {
    const width = 30;
    const filled = Math.round((done / total) * width);
    process.stderr.write(`\r[fuzz] [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
  };
  const report = await runFuzz({ cases, seed: flag('seed', 1), attackers: flag('attackers', 4), onProgress: bar, progressEvery: Math.max(100, Math.floor(cases / 100)) });
  process.stderr.write('\n');
  const seconds = (performance.now() - started) / 1000;
  return {
    messages: report.cases,
    crashes: report.crashes,
    hangs: report.hangs,
    nonFiniteVersions: report.nonFiniteVersions,
    untypedAnswers: report.untypedAnswers,
    rssGrowth: report.rssGrowthMb,
    answers: report.answers,
    typedErrors: report.typedErrors,
    accepted: report.accepted,
    versions: report.versions,
    maxAbsWeight: report.maxAbsWeight,
    maxHealthzMs: report.maxHealthzMs,
    disconnects: report.disconnects,
    casesPerSecond: Math.round(report.cases / seconds),
    codes: report.codes,
    examples: report.examples,
  };
}
