/**
 * "One owner per state": a task's round state lives in its TaskRunner, written only by the runner
 * (the closer hands it outcomes). Outside apps/server/src/rounds nobody imports the runner, the
 * closer or the open round: they read the engine's read model (`engine.summary(taskId)`).
 */
import { readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, sourceFiles } from './source-files.js';

const root = REPO_ROOT;
const ROUND_INTERNALS = /(?:from|import\()\s*['"][^'"]*\/(?:task-runner|round-closer|open-round)\.js['"]/;


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
