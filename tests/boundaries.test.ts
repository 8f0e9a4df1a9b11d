/**
 * Architecture rules as a test (DESIGN.md "Boundaries"): core imports nothing from the other
 * packages and no Node/DOM-only modules; no package reaches into another package's src/ by a
 * relative path; apps import packages through their public entry points only.
 */
import { readdirSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, importSpecifiers, sourceFiles } from './source-files.js';

const root = REPO_ROOT;


/** The top-level unit ("packages/core", "apps/server", …) a path belongs to. */
function unitOf(path: string): string {
  const parts = relative(root, path).split(sep);
  return parts.slice(0, 2).join('/');
}

describe('architecture boundaries', () => {
  const units = ['packages', 'apps'].flatMap((top) => readdirSync(join(root, top)).map((n) => `${top}/${n}`));

  it('core imports no other Chorus package and no Node-only module', () => {
    const offenders: string[] = [];
    for (const file of sourceFiles(join(root, 'packages/core/src'))) {
      if (file.includes(`${sep}privacy${sep}dp-cli.ts`)) continue; // the CLI is a Node tool by design
      if (file.endsWith('.test.ts')) continue;
      for (const spec of importSpecifiers(file)) {
        if (spec.startsWith('@chorus/') || spec.startsWith('node:') || ['fs', 'path', 'crypto', 'os'].includes(spec)) {
          offenders.push(`${relative(root, file)} imports ${spec}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('no relative import crosses into another package or app', () => {
    const offenders: string[] = [];
    for (const unit of units) {
      for (const file of sourceFiles(join(root, unit))) {
        for (const spec of importSpecifiers(file)) {
          if (!spec.startsWith('.')) continue;
          const target = resolve(dirname(file), spec);
          if (!target.startsWith(root + sep)) continue;
          const targetUnit = unitOf(target);
          if ((targetUnit.startsWith('packages/') || targetUnit.startsWith('apps/')) && targetUnit !== unit) {
            offenders.push(`${relative(root, file)} imports ${spec}`);
          }
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('no deep import into another package (only @chorus/<name>)', () => {
    const offenders: string[] = [];
    for (const unit of units) {
      for (const file of sourceFiles(join(root, unit))) {
        for (const spec of importSpecifiers(file)) {
          if (/^@chorus\/[^/]+\/(src|lib)\//.test(spec)) offenders.push(`${relative(root, file)} imports ${spec}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});
