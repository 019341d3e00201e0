// The command line as a user meets it: help, one-line errors with exit code 2, the worker
// connecting to a real Temporal server, and `qlik-audit dev` starting and stopping cleanly.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { describeError } from '../cli/errors';
import { runCli, startCli } from './helpers/cli';
import { devServer } from './helpers/temporal';

function tempFile(name: string, text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'qa-cli-')), name);
  writeFileSync(file, text);
  return file;
}

function processesMatching(pattern: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

test('qlik-audit --help lists the commands; every command has --help', async () => {
  const top = await runCli(['--help']);
  assert.equal(top.status, 0);
  assert.match(top.stdout, /dev\s+local stack/);
  assert.match(top.stdout, /worker\s+run a worker/);
  for (const command of ['dev', 'worker', 'receiver', 'screenshot']) {
    const help = await runCli([command, '--help']);
    assert.equal(help.status, 0, `${command} --help exits 0`);
    assert.match(help.stdout, new RegExp(`^Usage: qlik-audit ${command}`));
  }
});

test('unknown commands and options exit 2 with one line', async () => {
  const unknown = await runCli(['frobnicate']);
  assert.equal(unknown.status, 2);
  assert.equal(unknown.stderr.trim().split('\n').length, 1);
  const badOption = await runCli(['worker', '--frob']);
  assert.equal(badOption.status, 2);
  assert.match(badOption.stderr, /Unknown option '--frob'/);
});

test('worker with a bad config exits 2 naming the key path, without a stack trace', async () => {
  const unknownKey = await runCli(['worker', '--config', tempFile('bad.yaml', 'temporal:\n  adress: x:7233\n')]);
  assert.equal(unknownKey.status, 2);
  assert.equal(unknownKey.stderr.trim().split('\n').length, 1, unknownKey.stderr);
  assert.match(unknownKey.stderr, /bad\.yaml: temporal\.adress: unknown key/);

  const wrongType = await runCli(['worker', '--config', tempFile('bad.yaml', 'screenshots:\n  downloadTimeoutMs: soon\n')]);
  assert.equal(wrongType.status, 2);
  assert.equal(wrongType.stderr.trim().split('\n').length, 1, wrongType.stderr);
  assert.match(wrongType.stderr, /screenshots\.downloadTimeoutMs: /);

  const missing = await runCli(['worker']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /missing --config/);
});

test('worker cannot reach Temporal: one line naming the address', async () => {
  const result = await runCli(['worker', '--config', tempFile('c.yaml', 'temporal: { address: 127.0.0.1:1 }\n')]);
  assert.equal(result.status, 1);
  assert.match(result.stderr.trim().split('\n').at(-1) ?? '', /cannot connect to Temporal at 127\.0\.0\.1:1/);
});

test('worker polls a real Temporal server, logs JSON, and stops on SIGTERM', async () => {
  const env = await devServer();
  const config = tempFile('c.yaml', 'temporal: { taskQueue: cli-worker-test }\n');
  const worker = startCli(['worker', '--config', config], '"msg":"worker started"', { env: { TEMPORAL_ADDRESS: env.address } });
  await worker.ready;
  const started = worker.output().stderr.split('\n').find((line) => line.includes('worker started'));
  const entry = JSON.parse(started ?? '{}');
  assert.equal(entry.taskQueue, 'cli-worker-test');
  assert.equal(entry.address, env.address);
  worker.child.kill('SIGTERM');
  assert.equal(await worker.exited, 0);
});

test('qlik-audit dev --demo serves the Web UI, gRPC and receiver, runs the demo, and Ctrl-C stops every process within 10 s', async () => {
  const varDir = mkdtempSync(path.join(tmpdir(), 'qa-dev-'));
  const dev = startCli(['dev', '--demo', '--var', varDir], 'Ready.', { timeoutMs: 120_000 });
  try {
    await dev.ready;
    const { stdout } = dev.output();
    assert.match(stdout, /Temporal Web UI:\s+http:\/\/127\.0\.0\.1:8233/);
    assert.match(stdout, /-> stored: .*\.png/);
    assert.match(stdout, /-> skipped \(identity-unparseable\)/);
    assert.match(stdout, /-> blocked \(host-not-allowed\)/);
    assert.match(stdout, /Audit logs \(.*\): 3 files, 281 rows, 0 error findings, 1 info \(service-restart\)/);
    assert.match(stdout, /ingested 281 rows into pglite:/);
    assert.match(stdout, /http:\/\/127\.0\.0\.1:8233\/namespaces\/default\/workflows\/screenshot-/);
    assert.equal((await fetch('http://127.0.0.1:8181/api/v1/test-connection')).status, 200, 'the receiver runs');
    assert.match(await (await fetch('http://127.0.0.1:9464/metrics')).text(), /temporal_/, 'worker metrics are served');
    const page = await fetch('http://127.0.0.1:8233/');
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
    const { Connection } = await import('@temporalio/client');
    const connection = await Connection.connect({ address: '127.0.0.1:7233' });
    const info = await connection.workflowService.getSystemInfo({});
    assert.ok(info.serverVersion, 'gRPC answers on 7233');
    await connection.close();
    assert.equal(processesMatching(`db-filename ${varDir}`).length, 1, 'one dev server child');
  } finally {
    const stopStart = Date.now();
    dev.child.kill('SIGINT');
    await dev.exited;
    assert.ok(Date.now() - stopStart < 10_000, 'stopped within 10 s');
    const left = processesMatching(`db-filename ${varDir}`);
    assert.deepEqual(left, [], `no Temporal process left behind: ${execFileSync('ps', ['-o', 'pid,stat,args', '-p', left.join(',') || '1'], { encoding: 'utf8' })}`);
  }
});

test('a failed workflow is reported by the error that caused it, in one line', () => {
  const cause = ApplicationFailure.nonRetryable('auditSecurityLog.store: cannot connect to 127.0.0.1:5433\nstack', 'ConfigInvalid');
  const activity = new ActivityFailure('Activity task failed', 'ingestAuditLogChain', '2', RetryState.NON_RETRYABLE_FAILURE, 'worker-1', cause);
  const failed = new WorkflowFailedError('Workflow execution failed', activity, RetryState.NON_RETRYABLE_FAILURE);
  assert.equal(describeError(failed, false), 'Workflow execution failed: auditSecurityLog.store: cannot connect to 127.0.0.1:5433');
});
