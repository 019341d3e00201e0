// A real cluster on day one (SPEC 2): on a fresh namespace, `worker` and `receiver` stop at start with
// one line naming `qlik-audit setup`; `setup` registers the search attributes, is idempotent, and the
// worker then starts. Where the Operator API is not allowed (Temporal Cloud), setup names the tcld command.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setupNamespace, type TemporalServices } from '../client/namespace-setup';
import { runCli, startCli } from './helpers/cli';
import { freePort } from './helpers/ports';
import { devServer, freshNamespace } from './helpers/temporal';

test('fresh namespace: worker and receiver stop with one line naming setup; setup registers, is idempotent; the worker then starts', async () => {
  const env = await devServer();
  const namespace = await freshNamespace();
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-setup-'));
  const config = path.join(dir, 'config.yaml');
  writeFileSync(config, `temporal: { address: '${env.address}', namespace: ${namespace}, taskQueue: setup-${namespace} }\neventApi: { port: ${await freePort()} }\n`);

  for (const command of ['worker', 'receiver']) {
    const refused = await runCli([command, '--config', config], { env: { TEMPORAL_ADDRESS: '' } });
    assert.equal(refused.status, 1, `${command}: ${refused.stderr}`);
    const lines = refused.stderr.trim().split('\n').filter((l) => !l.startsWith('{')); // JSON log lines aside
    assert.equal(lines.length, 1, refused.stderr);
    assert.match(lines[0] ?? '', new RegExp(`namespace ${namespace} is missing search attributes QlikUserId, QlikUserDirectory, QlikAppId, ScreenshotOutcome: run 'qlik-audit setup --config <file>'`));
  }

  const first = await runCli(['setup', '--config', config]);
  assert.equal(first.status, 0, first.stderr);
  for (const name of ['QlikUserId', 'QlikUserDirectory', 'QlikAppId', 'ScreenshotOutcome']) assert.match(first.stdout, new RegExp(`registered search attribute ${name} \\(Keyword\\)`));
  assert.match(first.stdout, /schedule detect-alerts created \(detections every 1m; alerts to no sink yet: set alerts\.sinks\)/);
  const again = await runCli(['setup', '--config', config, '--json']);
  assert.equal(again.status, 0, again.stderr);
  const summary = JSON.parse(again.stdout) as { namespace: string; registered: string[]; alreadyPresent: string[]; schedules: Record<string, string> };
  assert.deepEqual(summary.registered, []);
  assert.deepEqual(summary.schedules, { 'detect-alerts': 'updated' });
  assert.deepEqual(new Set(summary.alreadyPresent), new Set(['QlikUserId', 'QlikUserDirectory', 'QlikAppId', 'ScreenshotOutcome']));

  const worker = startCli(['worker', '--config', config, '--log-format', 'json'], 'worker started');
  await worker.ready;
  worker.child.kill('SIGTERM');
  assert.equal(await worker.exited, 0);
});

test('Temporal Cloud (no Operator API): setup exits 1 with the exact tcld command for what is missing', async () => {
  const grpc = (code: number, details: string) => Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
  const cloud: TemporalServices = {
    operatorService: {
      listSearchAttributes: async () => Promise.reject(grpc(7, 'Request unauthorized.')),
      addSearchAttributes: async () => Promise.reject(grpc(7, 'Request unauthorized.')),
    },
    workflowService: { listWorkflowExecutions: async () => Promise.reject(grpc(3, "invalid query: unable to convert filter expression: 'QlikUserId' is not a valid search attribute")) },
  };
  const outcome = await setupNamespace(cloud, 'prod.a1b2c');
  assert.equal(outcome.ok, false);
  assert.match(
    outcome.ok ? '' : outcome.message,
    /Temporal Cloud .*run: tcld namespace search-attributes add --namespace prod\.a1b2c --search-attribute "QlikUserId=Keyword" --search-attribute "QlikUserDirectory=Keyword" --search-attribute "QlikAppId=Keyword" --search-attribute "ScreenshotOutcome=Keyword"/,
  );
  const ready = await setupNamespace({ ...cloud, workflowService: { listWorkflowExecutions: async () => ({}) } }, 'prod.a1b2c');
  assert.deepEqual(ready.ok && ready.registered, [], 'a Cloud namespace that has them is ready without the Operator API');
});
