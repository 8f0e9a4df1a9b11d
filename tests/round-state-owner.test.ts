/**
 * "One owner per state": a task's round state lives in its TaskRunner, written only by the runner
 * (the closer hands it outcomes). Outside apps/server/src/rounds nobody imports the runner, the
 * closer or the open round: they read the engine's read model (`engine.summary(taskId)`).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const ROUND_INTERNALS = /(?:from|import\()\s*['"][^'"]*\/(?:task-runner|round-closer|open-round)\.js['"]/;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === '.next' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|tsx|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

describe('round state has one owner', () => {
  it('only apps/server/src/rounds imports the task runner, the round closer or the open round', () => {
    const rounds = join(root, 'apps/server/src/rounds') + sep;
    const offenders = ['apps', 'packages', 'e2e', 'bench']
      .flatMap((d) => sourceFiles(join(root, d)))
      .filter((f) => !f.startsWith(rounds))
      .filter((f) => ROUND_INTERNALS.test(readFileSync(f, 'utf8')))
      .map((f) => relative(root, f));
    expect(offenders).toEqual([]);
  });
});
