// Records captureScreenshot histories with the workflows and activities of THIS checkout, for the
// replay test (test/workflow-replay.test.ts): every version of the workflow that ever ran must replay
// with the current code, or runs in flight during an upgrade would fail with a nondeterminism error.
//
// To add the histories of a release, run it from a checkout of that release (a git worktree with
// this repository's node_modules linked in), e.g.:
//   git worktree add /tmp/wt <rev> && ln -s "$PWD/node_modules" /tmp/wt/node_modules
//   cp scripts/record-histories.ts /tmp/wt/scripts/ && (cd /tmp/wt && npx tsx scripts/record-histories.ts --out "$PWD/test/fixtures/histories/<name>")
// It needs the local PostgreSQL (outcomes are recorded in a scratch schema) and the Temporal CLI.
import { randomUUID } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startCaptureScreenshot } from '../client/start-screenshot';
import { parseConfig } from '../common/config';
import { createLogger } from '../common/logger';
import { searchAttributes } from '../common/search-attributes';
import { screenshotEvent } from '../demo/sample-events';
import { createPki } from '../demo/simulated-qlik/pki';
import { SimulatedQlik } from '../demo/simulated-qlik/simulated-qlik';
import { createWorker } from '../worker/create-worker';
import { resolveTemporalBinaries } from '../worker/temporal-cli';

const { values } = parseArgs({ options: { out: { type: 'string' }, store: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' } } });

async function main(): Promise<void> {
  if (!values.out) throw new Error('usage: record-histories.ts --out <folder>');
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-histories-'));
  const pki = createPki(path.join(dir, 'pki'));
  const qlik = await new SimulatedQlik({ pki }).start();
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: resolveTemporalBinaries().cli }, ip: '127.0.0.1', searchAttributes, log: { format: 'json', level: 'error' } },
  });
  const taskQueue = `histories-${randomUUID()}`;
  const schema = `histories_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
  // The real sample logs, for an ingest run (and the detections over what it stored).
  const logs = path.join(dir, 'logs');
  cpSync(path.resolve(__dirname, '..', 'demo', 'qlik-logs'), logs, { recursive: true });
  const config = parseConfig(
    {
      temporal: { taskQueue },
      qlik: { cert: pki.files },
      screenshots: {
        allowedImageDownloadHosts: ['127.0.0.1'],
        storageTargets: [{ type: 'flat', directory: path.join(dir, 'shots') }],
        auth: { mode: 'userTicket', qps: { host: '127.0.0.1', port: qlik.qpsPort } },
      },
      auditSecurityLog: { store: `${values.store}?schema=${schema}`, sources: [{ directory: logs }] },
      auditTrail: { retentionDays: 30 },
    },
    { source: 'record-histories', baseDir: dir },
  );
  const worker = await createWorker({ connection: env.nativeConnection, namespace: 'default', taskQueue, deps: { config, logger: createLogger('histories', { level: 'error' }) } });
  const running = worker.run();
  // One run per way a screenshot can end.
  qlik.routes.set('/tempcontent/h/away.png', { kind: 'redirect', location: qlik.url('/elsewhere.png', qlik.outsideHost) });
  qlik.routes.set('/tempcontent/h/late.png', { kind: 'statuses', statuses: [404] });
  qlik.routes.set('/tempcontent/h/gone.png', { kind: 'statuses', statuses: [410, 410] });
  const cases: Record<string, string[]> = {
    stored: [qlik.url('/tempcontent/h/stored.png'), 'LAB\\anna'],
    blocked: [qlik.url('/tempcontent/h/away.png'), 'LAB\\anna'],
    skipped: [qlik.url('/tempcontent/h/skipped.png'), 'anna@example.com'],
    'retried-then-stored': [qlik.url('/tempcontent/h/late.png'), 'LAB\\anna'],
    failed: [qlik.url('/tempcontent/h/gone.png'), 'LAB\\anna'],
  };
  try {
    mkdirSync(values.out, { recursive: true });
    for (const [name, [url, user]] of Object.entries(cases)) {
      const { handle } = await startCaptureScreenshot(env.client, taskQueue, screenshotEvent(url as string, user));
      await handle.result().catch(() => undefined); // `failed` fails: its history is what we keep
      const history = await handle.fetchHistory();
      writeFileSync(path.join(values.out, `${name}.bin`), temporal.api.history.v1.History.encode(history).finish());
      process.stdout.write(`${name}: ${history.events?.length} events\n`);
    }
    // The other workflows, one run each: ingestion, detections (with their deliveries' parent), a retention purge.
    const others: [string, string, unknown[]][] = [
      ['ingest', 'ingestAuditSecurityLogs', [{}]],
      ['detect', 'detectAlerts', []],
      ['purge', 'purgeAuditTrail', [{ policy: { retentionDays: 30, legalHold: { users: [], apps: [] } }, configuredBy: 'record-histories' }]],
    ];
    for (const [name, type, args] of others) {
      const handle = await env.client.workflow.start(type, { taskQueue, workflowId: `histories-${name}-${randomUUID()}`, args });
      await handle.result().catch(() => undefined);
      const history = await handle.fetchHistory();
      writeFileSync(path.join(values.out, `${name}.bin`), temporal.api.history.v1.History.encode(history).finish());
      process.stdout.write(`${name}: ${history.events?.length} events\n`);
    }
  } finally {
    worker.shutdown();
    await running;
    await env.teardown();
    await qlik.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`record-histories failed: ${(err as Error).stack}\n`);
    process.exit(1);
  },
);
