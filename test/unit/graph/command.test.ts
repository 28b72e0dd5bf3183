/**
 * `graph -f lab.yaml` run in-process with no lab running (an empty run
 * directory): the lab drawn from its plan alone, to stdout or to --out FILE
 * in the format its extension names (Markdown with the mermaid fence), -o
 * over the extension, and the usage errors. No root, no namespaces.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { graphCommand } from '../../../dist/cli/commands/graph.js';
import { parseLab } from '../../../dist/config/index.js';
import { graphOf } from '../../../dist/graph/model.js';
import { planLab } from '../../../dist/model/plan.js';

const LAB = fileURLToPath(new URL('../../fixtures/graph/lab.yaml', import.meta.url));
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/graph/${name}`, import.meta.url), 'utf8');

// No lab is up here: a run directory of this test's own, empty.
const savedRun = process.env.KUBE_NETLAB_RUN_DIR;
process.env.KUBE_NETLAB_RUN_DIR = mkdtempSync(join(tmpdir(), 'graph-run-'));
t.teardown(() => {
  if (savedRun === undefined) delete process.env.KUBE_NETLAB_RUN_DIR;
  else process.env.KUBE_NETLAB_RUN_DIR = savedRun;
});

/** `graph` with these flags (long names, as the parser gives them) and arguments; what it printed and said. */
async function graph(flags: Record<string, string[]>, positionals: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  try {
    const code = await graphCommand({ positionals, rest: [], flags: new Map(Object.entries(flags)) });
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
}

const outDir = () => mkdtempSync(join(tmpdir(), 'graph-out-'));

t.test('graph -f lab.yaml -o dot: the reviewed DOT, from the plan alone', async (t) => {
  const r = await graph({ file: [LAB], output: ['dot'] });
  t.equal(r.code, 0);
  t.equal(r.stdout, fixture('lab.dot'));
});

t.test('graph -f lab.yaml: Mermaid by default, on stdout', async (t) => {
  const r = await graph({ file: [LAB] });
  t.equal(r.stdout, fixture('lab.mmd'));
});

t.test('graph -f lab.yaml -o json: the model of the plan', async (t) => {
  const r = await graph({ file: [LAB], output: ['json'] });
  const plan = planLab(parseLab([{ file: LAB, text: fixture('lab.yaml') }]));
  t.same(JSON.parse(r.stdout), JSON.parse(JSON.stringify(graphOf(plan))));
});

t.test('--out FILE: the format from the extension, nothing on stdout, where it went on stderr', async (t) => {
  const dir = outDir();
  const cases: [string, (text: string) => void][] = [
    ['x.mmd', (text) => t.equal(text, fixture('lab.mmd'), '.mmd: Mermaid')],
    ['x.md', (text) => t.equal(text, `\`\`\`mermaid\n${fixture('lab.mmd')}\`\`\`\n`, '.md: Mermaid in the fence GitHub draws')],
    ['x.dot', (text) => t.equal(text, fixture('lab.dot'), '.dot: DOT')],
    ['x.gv', (text) => t.equal(text, fixture('lab.dot'), '.gv: DOT')],
    ['X.DOT', (text) => t.equal(text, fixture('lab.dot'), 'the extension in capitals')],
    ['x.json', (text) => t.match(JSON.parse(text), { lab: 'pic', nodes: Array, edges: Array }, '.json: the model')],
    [
      'x.svg',
      (text) => {
        t.match(text, /^<\?xml/, '.svg: an SVG');
        t.match(text, /<\/svg>\s*$/);
      },
    ],
    [
      'x.html',
      (text) => {
        t.match(text, /^<!doctype html>/, '.html: one page');
        t.match(text, /<svg/, 'with the picture in it');
      },
    ],
    ['x.txt', (text) => t.equal(text, fixture('lab.mmd'), 'an extension of no format: Mermaid')],
  ];
  for (const [name, check] of cases) {
    const file = join(dir, name);
    const r = await graph({ file: [LAB], out: [file] });
    t.equal(r.code, 0);
    t.equal(r.stdout, '', `${name}: nothing on stdout`);
    t.match(r.stderr, `of lab pic written to ${file}`);
    check(readFileSync(file, 'utf8'));
  }
  t.same(readdirSync(dir).sort(), cases.map(([name]) => name).sort(), 'one file each, nothing else');
});

t.test('-o wins over the extension of --out', async (t) => {
  const file = join(outDir(), 'x.mmd');
  const r = await graph({ file: [LAB], output: ['dot'], out: [file] });
  t.equal(r.code, 0);
  t.equal(readFileSync(file, 'utf8'), fixture('lab.dot'));
  t.match(r.stderr, /dot of lab pic written to/);
  const md = join(outDir(), 'x.md');
  await graph({ file: [LAB], output: ['dot'], out: [md] });
  t.equal(readFileSync(md, 'utf8'), fixture('lab.dot'), 'a fence only around Mermaid');
});

t.test('usage errors: an unknown format, --trace without a running lab, arguments without --trace', async (t) => {
  await t.rejects(graph({ file: [LAB], output: ['png'] }), /graph -o png: choose one of mermaid, dot, svg, html, json/);
  await t.rejects(graph({ file: [LAB], trace: ['true'] }, ['default/web-htkzz', 'svc/default/web']), /graph --trace needs the lab running: lab 'pic' is not up/);
  await t.rejects(graph({ file: [LAB], trace: ['true'] }, ['default/web-htkzz']), /graph --trace SRC DST: give the source and the destination/);
  await t.rejects(graph({ file: [LAB] }, ['extra']), /graph takes no arguments \(got extra\)/);
});
