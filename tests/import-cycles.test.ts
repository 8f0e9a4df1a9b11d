/**
 * "The import graph has no circles": every package's and app's sources, type-only imports included
 * (a type-only circle still ties two modules into one idea). Walks relative imports (`./x.js` →
 * x.ts) with a depth-first search and names each circle it finds.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, importSpecifiers, sourceFiles } from './source-files.js';

const root = REPO_ROOT;

/** Relative import and export specifiers, static and dynamic. */
function relativeImports(file: string): string[] {
  return importSpecifiers(file).filter((spec) => spec.startsWith('.'));
}

/** The source file a relative specifier names: `./x.js` is x.ts (or .tsx), `./dir` its index. */
function resolveSource(from: string, spec: string): string | null {
  const base = resolve(dirname(from), spec);
  const stem = base.replace(/\.(m?js|jsx)$/, '');
  const candidates = [base, `${stem}.ts`, `${stem}.tsx`, `${stem}.mts`, join(base, 'index.ts'), join(base, 'index.tsx')];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile()) ?? null;
}

export function importGraph(files: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets = relativeImports(file).map((spec) => resolveSource(file, spec)).filter((t): t is string => t !== null);
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** Every circle a depth-first search meets, each as the list of files around it. */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const s = state.get(next);
      if (s === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

describe('the import graph has no circles', () => {
  it('finds a circle when there is one (the check itself works)', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
    ]);
    expect(findCycles(graph)).toEqual([['a', 'b', 'c', 'a']]);
    expect(findCycles(new Map([['a', ['b']], ['b', []]]))).toEqual([]);
  });

  const units = ['packages', 'apps'].flatMap((top) => readdirSync(join(root, top)).map((n) => `${top}/${n}`)).filter((u) => statSync(join(root, u)).isDirectory());
  for (const unit of units) {
    it(`${unit} has none`, () => {
      const files = sourceFiles(join(root, unit)).filter((f) => !f.includes(`${join(root, unit)}/node_modules`));
      const cycles = findCycles(importGraph(files)).map((c) => c.map((f) => relative(root, f)).join(' → '));
      expect(cycles).toEqual([]);
    });
  }
});
