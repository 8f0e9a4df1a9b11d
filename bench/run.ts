/**
 * `npm run bench -- NAME` runs bench/NAME.ts's `run()`: progress goes to stderr, and the last line
 * of stdout is one JSON object with the results (ratios measured in the same run).
 * A benchmark is any single-word module in bench/ exporting `run(): Promise<Record<string, unknown>>`.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

type Benchmark = { run?: () => Promise<Record<string, unknown>> };

const benchDir = dirname(fileURLToPath(import.meta.url));

function available(): string[] {
  return readdirSync(benchDir)
    .filter((f) => /^[a-z0-9]+\.ts$/.test(f) && f !== 'run.ts')
    .map((f) => f.slice(0, -3))
    .sort();
}

async function main(): Promise<void> {
  const name = process.argv[2];
  const names = available();
  if (!name || !names.includes(name)) {
    process.stderr.write(`${name ? `unknown benchmark "${name}". ` : ''}usage: npm run bench -- NAME\nbenchmarks: ${names.join(', ')}\n`);
    process.exit(2);
  }
  const mod = (await import(pathToFileURL(join(benchDir, `${name}.ts`)).href)) as Benchmark;
  if (typeof mod.run !== 'function') {
    process.stderr.write(`bench/${name}.ts does not export run()\n`);
    process.exit(2);
  }
  const started = performance.now();
  const result = await mod.run();
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  process.stdout.write(`${JSON.stringify({ benchmark: name, ...result, seconds })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
