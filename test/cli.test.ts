// The command line as a user meets it: help, one-line errors with exit code 2, the worker
// connecting to a real Temporal server (`qlik-audit dev`: test/dev-stack.test.ts).
import assert from 'node:assert/strict';
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

test('an old Node.js gets one line saying what to install', async () => {
  const preload = tempFile('old-node.js', "Object.defineProperty(process.versions, 'node', { value: '20.3.0' });\n");
  const result = await runCli(['--help'], { env: { NODE_OPTIONS: `--require ${preload}` } });
  assert.equal(result.status, 1);
  assert.equal(result.stdout, '');
  assert.equal(result.stderr, 'qlik-audit needs Node.js 20.18.1 or newer, this is 20.3.0: install the current Node.js 20, 22 or 24 LTS (https://nodejs.org/en/download)\n');
});

test('unknown commands and options exit 2 with one line', async () => {
  const unknown = await runCli(['frobnicate']);
  assert.equal(unknown.status, 2);
  assert.equal(unknown.stderr.trim().split('\n').length, 1);
  const badOption = await runCli(['worker', '--frob']);
  assert.equal(badOption.status, 2);
  assert.match(badOption.stderr, /Unknown option '--frob'/);
  // Names an object has by inheritance are not commands either.
  for (const args of [['toString'], ['constructor'], ['logs', 'toString'], ['audit', '__proto__'], ['logs', 'bogus']]) {
    const inherited = await runCli(args);
    assert.equal(inherited.status, 2, `${args.join(' ')}: ${inherited.stderr}`);
    assert.match(inherited.stderr, /unknown command/);
  }
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
  const worker = startCli(['worker', '--config', config], '"msg":"worker started"', { env: { TEMPORAL_ADDRESS: env.address } }); // not a terminal: JSON lines
  await worker.ready;
  const started = worker.output().stderr.split('\n').find((line) => line.includes('worker started'));
  const entry = JSON.parse(started ?? '{}');
  assert.equal(entry.taskQueue, 'cli-worker-test');
  assert.equal(entry.address, env.address);
  worker.child.kill('SIGTERM');
  assert.equal(await worker.exited, 0);
});

test('a failed workflow is reported by the error that caused it, in one line', () => {
  const cause = ApplicationFailure.nonRetryable('auditSecurityLog.store: cannot connect to 127.0.0.1:5433\nstack', 'ConfigInvalid');
  const activity = new ActivityFailure('Activity task failed', 'ingestAuditLogChain', '2', RetryState.NON_RETRYABLE_FAILURE, 'worker-1', cause);
  const failed = new WorkflowFailedError('Workflow execution failed', activity, RetryState.NON_RETRYABLE_FAILURE);
  assert.equal(describeError(failed, false), 'Workflow execution failed: auditSecurityLog.store: cannot connect to 127.0.0.1:5433');
});
