/**
 * The import graph follows the layers: data flows one way (spec → config,
 * model → render → kernel → components → agent → apply → check → trace →
 * graph → verify → exercises → cli), and no module imports one of a higher layer. Read from the sources
 * with a plain scan of their import statements; fails naming each import
 * that runs the wrong way.
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../../src', import.meta.url));

/**
 * The layers, lowest first. A file's layer is its top folder under src/,
 * except inside a component folder, where `plan.ts` and `data.ts` hold what
 * the planner needs of the component (its MTU rule, its data format) and sit
 * with the model.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['util'],
  ['spec'],
  ['config'],
  ['component-plan'],
  ['model'],
  ['render'],
  ['kernel'],
  ['runtime'],
  ['components'],
  ['reachability'],
  ['agent'],
  ['apply'],
  ['check'],
  ['trace'],
  ['graph'],
  ['verify'],
  ['exercises'],
  ['cli', 'bench'],
];

/** Pairs that must not import each other although ranks alone would allow it. */
const APART: readonly (readonly [string, string])[] = [
  // The planner never re-reads the lab file's text: what it needs is in the spec.
  ['model', 'config'],
  ['component-plan', 'config'],
];

function layerOf(file: string): string {
  const parts = relative(SRC, file).split('/');
  if (parts[0] === 'components' && parts.length === 3 && ['plan.ts', 'data.ts'].includes(parts[2]!)) return 'component-plan';
  return parts.length > 1 ? parts[0]! : 'root';
}

const rank = (layer: string) => LAYERS.findIndex((l) => l.includes(layer));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?from\s*'(\.{1,2}\/[^']+)'|import\(\s*'(\.{1,2}\/[^']+)'\s*\)/g)].map((m) => resolve(dirname(file), (m[1] ?? m[2])!).replace(/\.js$/, '.ts'));
}

t.test('every source file belongs to a layer', async (t) => {
  const unknown = sources(SRC).filter((f) => rank(layerOf(f)) < 0 && layerOf(f) !== 'root');
  t.same(unknown.map((f) => relative(SRC, f)), [], 'add new top folders to LAYERS');
});

t.test('no import runs from a lower layer to a higher one', async (t) => {
  const wrong: string[] = [];
  for (const file of sources(SRC)) {
    const from = layerOf(file);
    if (from === 'root') continue;
    for (const target of importsOf(file)) {
      const to = layerOf(target);
      const apart = APART.some(([a, b]) => a === from && b === to);
      if (rank(to) > rank(from) || apart) wrong.push(`${relative(SRC, file)} (${from}) imports ${relative(SRC, target)} (${to})`);
    }
  }
  t.same(wrong, []);
});

t.test('a component reaches another only through the shared contract', async (t) => {
  const shared = new Set(['contract.ts', 'objects.ts', 'registry.ts']);
  const wrong: string[] = [];
  for (const file of sources(join(SRC, 'components'))) {
    const [own] = relative(join(SRC, 'components'), file).split('/');
    if (shared.has(own!) || own === 'pod-network') continue;
    for (const target of importsOf(file)) {
      const rel = relative(join(SRC, 'components'), target).split('/');
      if (rel[0] === '..' || shared.has(rel[0]!) || rel[0] === own || rel[0] === 'pod-network') continue;
      wrong.push(`${relative(SRC, file)} imports ${relative(SRC, target)}`);
    }
  }
  t.same(wrong, []);
});

t.test('the scan sees imports (it would fail on a layer violation)', async (t) => {
  // The check itself: a file known to import a lower layer is seen doing it.
  const cli = importsOf(join(SRC, 'cli', 'commands', 'check.ts')).map((f) => relative(SRC, f));
  t.ok(cli.includes('check/index.ts'), `cli/commands/check.ts imports check/index.ts: ${cli.join(', ')}`);
});
