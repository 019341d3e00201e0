// `npm start` (`qlik-audit dev --demo`) as a new user meets it: the whole stack comes up on its fixed
// ports, the demo prints its summary without log lines in between, and Ctrl-C — a real SIGINT, at
// start-up, in the middle of the demo, or idle — prints `Stopping ...` at once and leaves nothing
// running within 3 s. The only test file that uses the fixed ports 7233, 8233, 8181 and 9464.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { startCli } from './helpers/cli';

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
