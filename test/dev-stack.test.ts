// `npm start` (`qlik-audit dev --demo`) as a new user meets it: the whole stack comes up on its fixed
// ports, the demo prints its summary without log lines in between, and Ctrl-C — a real SIGINT, at
// start-up, in the middle of the demo, or idle — prints `Stopping ...` at once and leaves nothing
// running within 3 s. And the README's Quickstart, run as written in a fresh copy of the project, with
// every shell example of the docs run against it. The only test file that uses the fixed ports 7233,
// 8233, 8181, 8282, 8283 and 9464 (and 8191, 8192: the docs' second receiver and serve).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { startCli } from './helpers/cli';
import { commandLines, expectedExit, isService, ROOT, shellBlocks, withSiteValues, type ShellBlock } from './helpers/doc-examples';

const FIXED_PORTS = [7233, 8233, 8181, 9464, 8282, 8283];

/** As root the embedded PostgreSQL runs as user postgres, which must reach ./var/auditdb (mkdtemp makes 0700). */
const reachable = (dir: string) => (chmodSync(dir, 0o755), dir);

function processesMatching(pattern: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** Sends SIGINT once `marker` appears; checks the stop took < 3 s, printed `Stopping ...`, and left nothing behind. */
async function interruptAt(marker: string | undefined, varDir: string) {
  const dev = startCli(['dev', '--demo', '--var', varDir], marker ?? 'Ready.', { timeoutMs: 120_000 });
  await dev.ready;
  const sent = Date.now();
  dev.child.kill('SIGINT');
  const code = await dev.exited;
  const took = Date.now() - sent;
  const { stdout } = dev.output();
  assert.ok(took < 3000, `stopped in ${took} ms (< 3 s) after '${marker ?? 'Ready.'}'`);
  assert.match(stdout.slice(stdout.lastIndexOf(marker ?? 'Ready.')), /Stopping \.\.\./);
  assert.deepEqual(processesMatching(`db-filename ${varDir}`), [], 'no Temporal process left behind');
  assert.deepEqual(processesMatching(`postgres -D ${varDir}`), [], 'no PostgreSQL process left behind');
  for (const port of FIXED_PORTS) assert.equal(await listening(port), false, `port ${port} closed`);
  return { code, stdout };
}

test('npm start: the stack, the demo summary without log lines, and Ctrl-C when idle', async () => {
  const varDir = reachable(mkdtempSync(path.join(tmpdir(), 'qa-dev-')));
  const dev = startCli(['dev', '--demo', '--var', varDir], 'Ready.', { timeoutMs: 120_000 });
  try {
    await dev.ready;
    const { stdout, stderr } = dev.output();
    assert.match(stdout, /Temporal Web UI:\s+http:\/\/127\.0\.0\.1:8233/);
    assert.match(stdout, /-> stored: .*\.png/);
    assert.match(stdout, /-> skipped \(identity-unparseable\)/);
    assert.match(stdout, /-> blocked \(host-not-allowed\)/);
    assert.match(stdout, /Audit logs \(.*\): 3 files, 281 rows, 0 error findings, 1 info \(service-restart\)/);
    assert.match(stdout, /ingested 281 rows into embedded:/);
    assert.match(stdout, /Evidence bundle: .* \(\d+ entries, 1 screenshot\(s\), \d+ AuditSecurity rows; store intact\)/, 'the screenshot, under the demo storage target, is in the bundle');
    assert.match(stdout, /http:\/\/127\.0\.0\.1:8233\/namespaces\/default\/workflows\/screenshot-/);
    const logFile = path.join(varDir, 'qlik-audit-dev.log');
    assert.match(stdout, new RegExp(`Service logs:\\s+${logFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.equal(stdout.split('\n').filter((line) => line.startsWith('{')).length + stderr.split('\n').filter((line) => line.startsWith('{')).length, 0, 'no JSON log line in the terminal');
    assert.doesNotMatch(stdout + stderr, /oidc-provider/, "the demo identity provider's development warnings stay out of the terminal");
    assert.match(stdout, /Detections over the stored trail: \d+ alert\(s\)/);
    assert.ok(existsSync(logFile) && /"msg":"worker started"/.test(readFileSync(logFile, 'utf8')), 'the services log to the file');
    assert.equal((await fetch('http://127.0.0.1:8181/api/v1/test-connection')).status, 200, 'the receiver runs');
    assert.match(await (await fetch('http://127.0.0.1:9464/metrics')).text(), /temporal_/, 'worker metrics are served');
    // The auditor's view, with the demo identity provider it signs in through.
    assert.match(stdout, /Auditor's view:\s+http:\/\/127\.0\.0\.1:8282 .*user 'auditor', any password/);
    assert.match(await (await fetch('http://127.0.0.1:8282/')).text(), /Sign in with your organisation's account/);
    const login = await fetch('http://127.0.0.1:8282/auth/login', { redirect: 'manual' });
    assert.equal(login.status, 302);
    assert.match(login.headers.get('location') ?? '', /^http:\/\/127\.0\.0\.1:8283\/auth\?.*code_challenge_method=S256/);
    assert.equal((await fetch('http://127.0.0.1:8282/api/trail?user=DOMAIN%5Cadministrator')).status, 401);
    const page = await fetch('http://127.0.0.1:8233/');
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
    const { Connection } = await import('@temporalio/client');
    const connection = await Connection.connect({ address: '127.0.0.1:7233' });
    const info = await connection.workflowService.getSystemInfo({});
    assert.ok(info.serverVersion, 'gRPC answers on 7233');
    await connection.close();
    assert.equal(processesMatching(`db-filename ${varDir}`).length, 1, 'one dev server child');
    assert.equal(processesMatching(`postgres -D ${varDir}/auditdb`).length, 1, 'one embedded PostgreSQL server');
  } finally {
    const sent = Date.now();
    dev.child.kill('SIGINT');
    assert.equal(await dev.exited, 0);
    assert.ok(Date.now() - sent < 3000, `stopped in ${Date.now() - sent} ms`);
    assert.match(dev.output().stdout, /Stopping \.\.\.\n(.|\n)*Stopped\./);
    assert.deepEqual(processesMatching(`db-filename ${varDir}`), [], 'no Temporal process left behind');
    assert.deepEqual(processesMatching(`postgres -D ${varDir}`), [], 'no PostgreSQL process left behind');
    for (const port of FIXED_PORTS) assert.equal(await listening(port), false, `port ${port} closed`);
  }
});

test('Ctrl-C while the dev server starts, and in the middle of the demo: stopped within 3 s, nothing left', async () => {
  const varDir = reachable(mkdtempSync(path.join(tmpdir(), 'qa-dev-')));
  const starting = await interruptAt('starting the Temporal dev server', varDir);
  assert.equal(starting.code, 130);
  const demo = await interruptAt('Demo: posting sample Audit.qs events', varDir); // the same folder, as a user restarting
  assert.equal(demo.code, 130);
});

/** Resolves after `ms` without keeping the test process alive. */
const after = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms).unref());

/** Signals a process group, if it is still there. */
function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  try {
    if (pid) process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Starts a shell command line (or, `errexit`, a script that stops at its first failing command) in
 * `cwd`, in its own process group, collecting its output; `exited` is its status, or the signal that
 * ended it.
 */
function startShell(script: string, cwd: string, { errexit = false } = {}) {
  const child = spawn('bash', [...(errexit ? ['-e'] : []), '-o', 'pipefail', '-c', script], { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | string | null>((resolve) => child.once('close', (status, signal) => resolve(status ?? signal)));
  return {
    exited,
    output: () => output,
    signal: (signal: NodeJS.Signals) => signalGroup(child.pid, signal),
    /** Whether `text` shows in the output within `ms` (false once it exits without it). */
    until: (text: RegExp, ms: number) =>
      Promise.race([
        new Promise<boolean>((resolve) => {
          const check = () => text.test(output) && resolve(true);
          child.stdout.on('data', check);
          child.stderr.on('data', check);
        }),
        exited.then(() => text.test(output)),
        after(ms, false),
      ]),
  };
}

/** Runs a shell command line (or, `errexit`, a script) to its end; SIGKILLed after `timeoutMs`. */
async function shell(script: string, cwd: string, { errexit = false, timeoutMs = 120_000 } = {}): Promise<{ status: number | string | null; output: string }> {
  const run = startShell(script, cwd, { errexit });
  const timer = setTimeout(() => run.signal('SIGKILL'), timeoutMs);
  const status = await run.exited;
  clearTimeout(timer);
  return { status, output: run.output() };
}

/** Starts a service command, waits until it says it serves, then stops it as Ctrl-C would: did it say it stopped? */
async function runService(script: string, cwd: string): Promise<{ status: number | string | null; output: string; ready: boolean; stoppedCleanly: boolean }> {
  const run = startShell(script, cwd);
  const ready = await run.until(/worker started|receiver listening|listening on/, 60_000);
  if (ready) await after(500, undefined);
  const interruptedAt = run.output().length;
  run.signal('SIGINT');
  const timer = setTimeout(() => run.signal('SIGKILL'), 15_000);
  const status = await run.exited;
  clearTimeout(timer);
  // Ctrl-C ends npx (and so the line) by the signal whatever the service did: the service's own last words say how it stopped.
  const afterInterrupt = run.output().slice(interruptedAt);
  const stoppedCleanly = (status === 0 || status === 'SIGINT') && /stopped/.test(afterInterrupt) && !/"level":"(error|fatal)"/.test(afterInterrupt);
  return { status, output: run.output(), ready, stoppedCleanly };
}

/** The project as a fresh clone has it (tracked and new files, no var/, no node_modules), in a scratch folder. */
function freshCopy(): string {
  const copy = reachable(mkdtempSync(path.join(tmpdir(), 'qa-quickstart-')));
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const file of files) {
    if (!existsSync(path.join(ROOT, file))) continue; // deleted in the working tree
    mkdirSync(path.dirname(path.join(copy, file)), { recursive: true });
    cpSync(path.join(ROOT, file), path.join(copy, file));
  }
  // The Temporal CLI installed once by `npm test` (TEMPORAL_CLI_PATH points at it too).
  if (existsSync(path.join(ROOT, '.tools'))) symlinkSync(path.join(ROOT, '.tools'), path.join(copy, '.tools'));
  return copy;
}

test("the README's Quickstart, run as written in a fresh copy, and every shell example of the docs against it", async () => {
  const blocks = shellBlocks();
  const quickstart = blocks.find((b) => b.file === 'README.md') as ShellBlock;
  const quickstartLines = (commandLines(quickstart) ?? []).map((c) => c.command.replace(/\s+#.*$/, '').trim());
  assert.deepEqual(quickstartLines, ['npm install && npm start', 'npm test'], "the README's Quickstart is the two commands");
  // `npm test` is what runs this test; docs/development.md's commands run the suite, or part of it.
  const examples = blocks.filter((b) => b !== quickstart && b.file !== 'docs/development.md');
  assert.ok(examples.length >= 5, `shell examples in the docs (${examples.length})`);

  const copy = freshCopy();
  const npmStart = startShell(quickstartLines[0] as string, copy);
  try {
    const ready = await npmStart.until(/Ready\. Press Ctrl-C/, 240_000);
    assert.ok(ready, `npm install && npm start did not get ready:\n${npmStart.output().slice(-3000)}`);
    assert.match(npmStart.output(), /Try commands:\s+npx qlik-audit alerts list --config \.\/var\/demo\.yaml/);

    // The demo's own values for the `# site:` lines (docs/event-api.md's checklist).
    const demoConfig = parse(readFileSync(path.join(copy, 'var', 'demo.yaml'), 'utf8')) as { eventApi: { host: string; port: number; cors: { allowedOrigins: string[] } } };
    const site = { RECEIVER: `http://${demoConfig.eventApi.host}:${demoConfig.eventApi.port}`, HUB: demoConfig.eventApi.cors.allowedOrigins[0] as string, TOKEN: 'the demo has no token' };

    const failures: string[] = [];
    let ran = 0;
    for (const block of examples) {
      const lines = commandLines(block);
      if (!lines) {
        const { status, output } = await shell(withSiteValues(block, site), copy, { errexit: true });
        ran++;
        if (status !== 0) failures.push(`${block.file}:${block.line} (the block) exited ${status}:\n${output.slice(-1500)}`);
        if (block.file === 'docs/event-api.md') {
          // The checklist's three answers, as its comments say.
          for (const expected of [/^access-control-allow-origin: https:\/\/127\.0\.0\.1:\d+/im, /"status":"ok"/, /"status":"accepted"/]) {
            if (!expected.test(output)) failures.push(`${block.file}:${block.line}: the checklist did not print ${expected}:\n${output.slice(-1500)}`);
          }
        }
        continue;
      }
      for (const { command, line } of lines) {
        ran++;
        if (isService(command)) {
          const { status, output, ready: served, stoppedCleanly } = await runService(command, copy);
          if (!served || !stoppedCleanly) failures.push(`${block.file}:${line} '${command}': ${served ? `did not stop cleanly on Ctrl-C (exit ${status})` : 'never said it serves'}:\n${output.slice(-1500)}`);
          continue;
        }
        const { status, output } = await shell(command, copy);
        const expected = expectedExit(command);
        if (status !== expected.status) failures.push(`${block.file}:${line} '${command}' exited ${status}, the docs say ${expected.status}:\n${output.slice(-1500)}`);
        else if (expected.saying && !output.includes(expected.saying)) failures.push(`${block.file}:${line} '${command}' did not say "${expected.saying}":\n${output.slice(-1500)}`);
      }
    }
    assert.deepEqual(failures, [], `${failures.length} of ${ran} documented commands failed`);
    assert.ok(ran >= 20, `commands run (${ran})`);
    // What the examples did is there: the test alert reached the demo's webhook, the bundle was written.
    const delivered = readFileSync(path.join(copy, 'var', 'demo-siem-alerts.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { rule: string });
    assert.ok(delivered.some((a) => a.rule === 'test'), 'the test alert was delivered to the demo webhook');
    assert.ok(delivered.filter((a) => a.rule === 'failedLogins').length >= 1, "the demo's alerts were delivered to its webhook");
    assert.ok(existsSync(path.join(copy, 'var', 'evidence', 'administrator.zip')), 'the evidence example wrote its bundle');
  } finally {
    const varDir = path.join(copy, 'var');
    try {
      npmStart.signal('SIGINT'); // Ctrl-C in the Quickstart's terminal
      const stopped = await Promise.race([npmStart.exited.then(() => true), after(10_000, false)]);
      if (!stopped) npmStart.signal('SIGKILL');
      assert.ok(stopped, 'npm start stopped within 10 s of Ctrl-C');
      assert.match(npmStart.output(), /Stopping \.\.\.\n(.|\n)*Stopped\./);
      assert.deepEqual(processesMatching(`postgres -D ${varDir}`), [], 'no PostgreSQL process left behind');
      for (const port of [...FIXED_PORTS, 8191, 8192]) assert.equal(await listening(port), false, `port ${port} closed`);
    } finally {
      // Whatever failed, nothing of the copy outlives the test (a PostgreSQL left running is stopped: SIGINT is its fast shutdown).
      for (const pid of processesMatching(`postgres -D ${varDir}`)) {
        try {
          process.kill(Number(pid), 'SIGINT');
        } catch {
          // gone meanwhile
        }
      }
      rmSync(copy, { recursive: true, force: true });
    }
  }
});
