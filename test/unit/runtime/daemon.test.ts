/**
 * The daemon runtime every long-running process of the lab uses (the agent
 * and the daemons it starts): its command line, its state file, reloads by
 * file watch, SIGHUP and request (one at a time, a request answered with
 * the load of the file as it is), and a clean stop. Driven through a small
 * daemon in test/fixtures/runtime; every wait is for a log line.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDaemonArgs } from '../../../dist/runtime/daemon.js';
import { eventually } from '../../helpers/eventually.js';

const FIXTURE = fileURLToPath(new URL('../../fixtures/runtime/value-daemon.mjs', import.meta.url));

/**
 * The fixture daemon on a run directory of its own (`prepare` fills it
 * first), killed and removed at the end of the test; its stdout and stderr
 * are collected.
 */
function startFixture(t: Test, args: string[], env: Record<string, string> = {}, prepare: (dir: string) => void = () => undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'kube-netlab-runtime-'));
  prepare(dir);
  const childEnv = { ...process.env, ...env };
  delete childEnv.NODE_OPTIONS;
  const child = spawn(process.execPath, [FIXTURE, dir, ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const logged = (re: RegExp, what: string) => eventually(() => re.test(out), { timeout: 10_000, what });
  return { dir, child, output: () => out, exited, logged };
}

/** Replaces a file by rename, as the agent writes configs. */
function replaceFile(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

t.test('the command line: a daemon takes --name, a process with a fixed name does not', async (t) => {
  const daemon = { program: 'components/x/main.js', flags: { port: 'N' } };
  t.same(parseDaemonArgs(['/run/x', '--name', 'dns/a', '--port', '53'], daemon), { runDir: '/run/x', name: 'dns/a', flags: new Map([['port', '53']]) });
  t.equal(parseDaemonArgs(['/run/x'], daemon), '--name is required; usage: node dist/components/x/main.js <runDir> --name <daemon> [--port N]');
  t.equal(parseDaemonArgs(['/run/x', '--name'], daemon), '--name needs a value; usage: node dist/components/x/main.js <runDir> --name <daemon> [--port N]');
  const agent = { program: 'agent/main.js', name: 'agent' };
  t.same(parseDaemonArgs(['/run/x'], agent), { runDir: '/run/x', name: 'agent', flags: new Map() });
  t.equal(parseDaemonArgs(['/run/x', '--name', 'other'], agent), "unknown argument '--name'; usage: node dist/agent/main.js <runDir>");
  t.equal(parseDaemonArgs([], agent), 'usage: node dist/agent/main.js <runDir>');
});

t.test('reloads: by watch, by request, by SIGHUP; one at a time; then a clean stop', async (t) => {
  const d = startFixture(t, [], { FIXED_NAME: 'valued', CONFIG_FILE: 'values.json' }, (dir) => replaceFile(join(dir, 'values.json'), '{"value":"one"}'));
  const { dir, child, exited, logged } = d;
  const replace = (text: string) => replaceFile(join(dir, 'values.json'), text);
  const lines = () => d.output().split('\n').filter((l) => / (started|reloaded|requested|request refused|stopped)/.test(l)).map((l) => l.replace(/^\S+ /, ''));

  t.ok(await logged(/started with one/, 'the daemon to start'), 'started');
  t.match(JSON.parse(readFileSync(join(dir, 'valued.json'), 'utf8')), { pid: child.pid, value: 'one' }, 'its state file, named after it, holds its pid');

  // A request for a file already loaded answers with that load.
  child.kill('SIGUSR2');
  t.ok(await logged(/requested: /, 'the first request'));

  replace('{"value":"two"}');
  t.ok(await logged(/reloaded \(change\) to two/, 'the watch to reload'), 'a replaced file is loaded without being asked');
  child.kill('SIGUSR2');
  t.ok(await logged(/requested: \{"value":"two"/, 'the second request'));

  // The same text again is no change; a broken file is refused to the one who asked, and the running config stays.
  replace('{"value":"two"}');
  replace('{"value":');
  child.kill('SIGUSR2');
  t.ok(await logged(/request refused: /, 'the refusal'));
  replace('{"value":"three"}');
  child.kill('SIGUSR2');
  t.ok(await logged(/requested: \{"value":"three"/, 'the third request'));
  child.kill('SIGHUP');
  t.ok(await logged(/reloaded \(SIGHUP\) to three/, 'the SIGHUP reload'), 'SIGHUP loads even an unchanged file');

  child.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM: exit 0');
  const seen = lines();
  // The loads, requests and stop in order; "three" was loaded by the watch or by the request, whichever came first.
  t.same(seen.filter((l) => !/reloaded \((change|request)\) to three/.test(l)), [
    'started with one',
    'requested: {"value":"one","load":1}',
    'reloaded (change) to two',
    'requested: {"value":"two","load":2}',
    'request refused: Unexpected end of JSON input',
    'requested: {"value":"three","load":3}',
    'reloaded (SIGHUP) to three',
    'stopped',
  ], 'in this order, each load once');
  t.equal(seen.filter((l) => /to three/.test(l) && !/SIGHUP/.test(l)).length, 1, '"three" was loaded once before SIGHUP (by the watch or the request, whichever came first)');
  t.notOk(existsSync(join(dir, 'valued.config.json')), 'it read the file it was given, not a file of its own');
});

t.test('a daemon whose starter is gone stops', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kube-netlab-runtime-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'solo.config.json'), '{"value":"alone"}');
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  // The shell starts it in the background and exits once it serves: the daemon is orphaned.
  const script = `"$0" "$1" "$2" --name solo >"$2/log" 2>&1 & echo $!; until grep -q 'started with' "$2/log" 2>/dev/null; do sleep 0.05; done`;
  const sh = spawn('sh', ['-c', script, process.execPath, FIXTURE, dir], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let pidText = '';
  sh.stdout!.on('data', (d: Buffer) => (pidText += d.toString()));
  await new Promise((resolve) => sh.once('exit', resolve));
  const pid = Number(pidText.trim());
  t.ok(pid > 0, 'the daemon was started');
  t.teardown(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone, as it should be.
    }
  });
  const log = () => (existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8') : '');
  t.ok(await eventually(() => /stopped/.test(log()), { timeout: 10_000, what: 'the orphaned daemon to stop' }), log());
  t.match(log(), /solo: the process that started it \(\d+\) is gone, stopping\n.*stopped\n$/s);
  t.ok(await eventually(() => !existsSync(`/proc/${pid}`) || /^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'latin1')), { timeout: 10_000, what: 'the daemon to exit' }), 'it exited');
});

t.test('a daemon started before its config file waits for it, then starts once', async (t) => {
  const { dir, child, output, exited, logged } = startFixture(t, ['--name', 'early']);
  t.ok(await logged(/early: waiting for .*early\.config\.json, which the agent writes/, 'the daemon to say it waits'), 'it says what it waits for');
  t.notOk(existsSync(join(dir, 'early.json')), 'no state file: it does not serve yet');
  replaceFile(join(dir, 'early.config.json'), '{"value":"late"}');
  t.ok(await logged(/started with late/, 'the daemon to start'), 'it starts when the file comes');
  t.match(JSON.parse(readFileSync(join(dir, 'early.json'), 'utf8')), { pid: child.pid, value: 'late' }, 'and serves');
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM: exit 0');
  const lines = output().split('\n').filter((l) => / (waiting for|started|reloaded|stopped)/.test(l)).map((l) => l.replace(/^\S+ /, '').replace(/ for \S+,/, ' for <file>,'));
  t.same(lines, ['early: waiting for <file>, which the agent writes', 'started with late', 'stopped'], 'waited, started once (the watch seeing the new file is no reload), stopped');
});

t.test('a daemon told to stop while it waits for its config exits 0', async (t) => {
  const { child, output, exited, logged } = startFixture(t, ['--name', 'never']);
  t.ok(await logged(/waiting for/, 'the daemon to wait'));
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'exit 0');
  t.match(output(), /never: SIGTERM, stopping\n/);
  t.notMatch(output(), /started with/, 'it never started');
});

t.test('a daemon whose starter is not its parent when it gets going (orphaned while it booted) stops', async (t) => {
  // The starter named in the environment is not this test process, its real parent: as if the agent that started it died first.
  const notTheParent = process.ppid;
  const { output, exited, logged } = startFixture(t, ['--name', 'late'], { KUBE_NETLAB_STARTER: String(notTheParent) });
  t.ok(await logged(/waiting for/, 'the daemon to wait for its config'));
  t.equal(await exited, 0, 'it stops by itself, exit 0');
  t.match(output(), new RegExp(`late: the process that started it \\(${notTheParent}\\) is gone, stopping\\n`));
});

t.test('a SIGTERM that comes while create() runs goes through stop()', async (t) => {
  const { child, output, exited, logged } = startFixture(t, ['--name', 'busy']);
  t.ok(await logged(/create: /, 'create() to run'));
  t.match(output(), /create: SIGTERM goes to stop\(\)/, 'the handler is in place before create(): what it starts is stopped with the process');
  child.kill('SIGTERM');
  t.equal(await exited, 0);
  t.match(output(), /busy: SIGTERM, stopping\n.*stopped\n/s);
});
