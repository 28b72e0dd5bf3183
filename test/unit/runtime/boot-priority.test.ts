/**
 * A process started niced for its boot (the agent and its daemons, while `up`
 * builds the kernel objects) goes back to normal priority, every thread and
 * its session's scheduling group, once told its config came; one not marked
 * so keeps the nice value it was given.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BOOT_NICE, BOOT_NICE_ENV, setAutogroupNice } from '../../../dist/runtime/boot-priority.js';

const MODULE = fileURLToPath(new URL('../../../dist/runtime/boot-priority.js', import.meta.url));
// Prints the nice value of every thread and of the session's group, before and after endBootPriority.
const SCRIPT = `
  import { readdirSync, readFileSync, existsSync } from 'node:fs';
  const { endBootPriority } = await import(${JSON.stringify(MODULE)});
  const threads = () => readdirSync('/proc/self/task').map((t) => Number(readFileSync('/proc/self/task/' + t + '/stat', 'latin1').split(') ')[1].split(' ')[16]));
  const group = () => existsSync('/proc/self/autogroup') ? Number(/ nice (-?\\d+)/.exec(readFileSync('/proc/self/autogroup', 'utf8'))[1]) : null;
  process.stdin.once('data', () => {
    const before = { threads: threads(), group: group() };
    endBootPriority();
    console.log(JSON.stringify({ before, after: { threads: threads(), group: group() } }));
  });
`;

async function niced(marked: boolean): Promise<{ before: { threads: number[]; group: number | null }; after: { threads: number[]; group: number | null } }> {
  const env = { ...process.env, ...(marked ? { [BOOT_NICE_ENV]: '1' } : {}) };
  delete env.NODE_OPTIONS;
  if (!marked) delete env[BOOT_NICE_ENV];
  // A session of its own, as the agent's: its own scheduling group where the kernel has them.
  const child = spawn('nice', ['-n', String(BOOT_NICE), process.execPath, '--input-type=module', '-e', SCRIPT], { env, detached: true, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  setAutogroupNice(child.pid!, BOOT_NICE);
  child.stdin!.end('go\n');
  await exited;
  return JSON.parse(out);
}

if (process.getuid?.() !== 0) {
  t.skip('needs root: lowering a nice value takes CAP_SYS_NICE');
} else {
  const groups = existsSync('/proc/self/autogroup');
  t.test('marked: every thread and the group back to 0', async (t) => {
    const r = await niced(true);
    t.ok(r.before.threads.length > 1 && r.before.threads.every((n) => n === BOOT_NICE), `it booted niced, all ${r.before.threads.length} threads`);
    t.same(r.after.threads, r.after.threads.map(() => 0), 'every thread at 0');
    if (groups) t.same([r.before.group, r.after.group], [BOOT_NICE, 0], 'its scheduling group too');
  });
  t.test('not marked: the nice value it was given stays', async (t) => {
    const r = await niced(false);
    t.ok(r.after.threads.every((n) => n === BOOT_NICE));
    if (groups) t.equal(r.after.group, BOOT_NICE);
  });
}
