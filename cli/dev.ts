// `qlik-audit dev [--demo] [--config F]`: the whole stack on one machine — the real Temporal dev
// server (Web UI on :8233, state in ./var/temporal.sqlite), a worker, the event receiver, and (with
// --demo) a simulated Qlik Sense with sample events.
import path from 'node:path';
import { withClient } from '../client/connect';
import { runDemoAuditLogs, runDemoEvents, startDemoQlik, type Demo } from '../client/demo';
import { startReceiver, type RunningReceiver } from '../client/receiver/start-receiver';
import { loadConfig, parseConfig, type Config } from '../common/config';
import type { ScreenshotResult } from '../common/screenshot-result';
import { createLogger } from '../common/logger';
import { resolveTemporalBinaries } from '../common/temporal-cli';
import { startDevServer } from '../worker/dev-server';
import { installRuntime } from '../worker/runtime';
import { startWorker } from '../worker/start-worker';
import { parseCommand, printHelp } from './args';
import { describeError } from './errors';

const spec = {
  usage: 'qlik-audit dev [--demo] [--config <file>]',
  help: `
Starts a local stack for trying qlik-audit or developing it:
  - the Temporal dev server: gRPC 127.0.0.1:7233, Web UI http://127.0.0.1:8233,
    state kept in ./var/temporal.sqlite (workflows survive a restart), log in ./var/temporal-dev.log
  - a worker for all qlik-audit workflows (Prometheus metrics on http://127.0.0.1:9464/metrics)
  - the event receiver on eventApi.host:eventApi.port (default http://127.0.0.1:8181)
Ctrl-C stops everything.

Options:
  --demo            also run a simulated Qlik Sense (QPS + proxy over mutual TLS, certificates in
                    ./var/demo-certs) and post sample Audit.qs events through the receiver
  --config <file>   YAML configuration; without it embedded defaults are used (everything under ./var)
  --var <dir>       folder for state and logs (default ./var)
  --verbose         show stack traces on errors
  -h, --help        this help`,
  options: { demo: { type: 'boolean' }, config: { type: 'string', short: 'c' }, var: { type: 'string' } },
} as const;

const DEV_IP = '127.0.0.1';
const DEV_PORT = 7233;
const DEV_UI_PORT = 8233;
const DEV_METRICS = '127.0.0.1:9464';

/** Posts the sample events and prints what happened to each, with links into the Web UI. */
async function showDemo(demo: Demo, receiverUrl: string, uiUrl: string, config: Config, say: (line: string) => void) {
  say('');
  say('Demo: posting sample Audit.qs events to the receiver ...');
  const { runs, logs } = await withClient(config, async (client) => {
    const runs = await runDemoEvents(demo, receiverUrl, (workflowId) => client.workflow.getHandle(workflowId).result() as Promise<ScreenshotResult>);
    say('Demo: verifying and ingesting the sample AuditSecurity logs ...');
    // A failed ingest is shown, not fatal: the rest of the demo and the UI stay up to look into it.
    const logs = await runDemoAuditLogs(client, config).catch((err: Error) => describeError(err, false));
    return { runs, logs };
  });
  for (const run of runs) {
    say(`  - ${run.title}`);
    if (run.error) say(`      error: ${run.error}`);
    if (run.result) say(`      -> ${run.result.status}${run.result.reason ? ` (${run.result.reason})` : ''}${run.result.savedPaths[0] ? `: ${run.result.savedPaths[0]}` : ''}`);
    if (run.workflowId) say(`      ${uiUrl}/namespaces/${config.temporal.namespace}/workflows/${encodeURIComponent(run.workflowId)}`);
  }
  const folder = config.screenshots.storageTargets.find((t) => t.enable)?.directory;
  if (folder) say(`Screenshots are in ${folder}`);
  if (typeof logs === 'string') say(`Audit logs: ingestion failed: ${logs}`);
  else {
    const { verification: v, ingest } = logs;
    const errors = v.findings.filter((f) => f.severity === 'error').length;
    say(
      `Audit logs (${config.auditSecurityLog.sources.map((s) => s.directory).join(', ')}): ${v.files.length} files, ` +
        `${v.files.reduce((n, f) => n + f.rows, 0)} rows, ${errors} error findings, ${v.findings.length - errors} info (${[...new Set(v.findings.map((f) => f.kind))].join(', ') || 'none'})`,
    );
    say(`  ingested ${ingest.rowsStored} rows into ${config.auditSecurityLog.store}; schedule ingest-audit-security-logs runs every ${config.auditSecurityLog.every}: ${uiUrl}/namespaces/${config.temporal.namespace}/schedules`);
  }
  say(`Find a user's runs in the UI: ${uiUrl}/namespaces/${config.temporal.namespace}/workflows?query=${encodeURIComponent('QlikUserId="anna"')}`);
  say('');
}

export async function devCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(spec, argv);
  if (values.help) return printHelp(spec), 0;
  const varDir = path.resolve(values.var ?? 'var');
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const steps = values.demo ? 5 : 4;
  say('qlik-audit dev: starting (Ctrl-C to stop)');

  let demo: Demo | undefined;
  let config: Config = values.config ? loadConfig(values.config) : parseConfig({}, { source: '(embedded defaults)', baseDir: process.cwd() });
  if (values.demo) {
    say(`  [1/${steps}] starting the simulated Qlik Sense (certificates in ${path.join(varDir, 'demo-certs')}) ...`);
    demo = await startDemoQlik(varDir);
    config = parseConfig({ ...config, ...demo.config }, { source: '(demo)', baseDir: process.cwd() });
  }
  const step = (n: number, text: string) => say(`  [${n + (values.demo ? 1 : 0)}/${steps}] ${text}`);
  step(1, 'locating the Temporal CLI ...');
  const { cli } = resolveTemporalBinaries({ log: (line) => say(`        ${line}`) });
  step(2, `starting the Temporal dev server (${cli}) ...`);
  const server = await startDevServer({
    cli,
    ip: DEV_IP,
    port: DEV_PORT,
    uiPort: DEV_UI_PORT,
    dbFile: path.join(varDir, 'temporal.sqlite'),
    logFile: path.join(varDir, 'temporal-dev.log'),
    namespaces: config.temporal.namespace === 'default' ? [] : [config.temporal.namespace],
  });
  // The dev server is local: point the worker at it whatever the config says.
  process.env.TEMPORAL_ADDRESS = server.address;

  const logger = createLogger('qlik-audit-dev');
  installRuntime(logger, { prometheusBindAddress: DEV_METRICS });
  let worker;
  let receiver: RunningReceiver | undefined;
  try {
    step(3, 'starting the worker ...');
    worker = await startWorker(config, logger);
    step(4, 'starting the event receiver ...');
    receiver = await startReceiver(config, logger);
  } catch (err) {
    await worker?.shutdown();
    await server.stop();
    await demo?.stop();
    throw err;
  }

  say('');
  say(`Temporal Web UI:  ${server.uiUrl}`);
  say(`Temporal gRPC:    ${server.address}  (namespace ${config.temporal.namespace}, task queue ${config.temporal.taskQueue})`);
  say(`Event receiver:   ${receiver.url}/api/v1/audit-event`);
  say(`Worker metrics:   http://${DEV_METRICS}/metrics   receiver metrics: ${receiver.url}/metrics`);

  // Ctrl-C / SIGTERM: the SDK shuts the worker down on these signals; then we stop the server.
  // Every caller waits for the same stop, so the process never exits before the server is gone.
  let stopped: Promise<void> | undefined;
  const stopAll = () =>
    (stopped ??= (async () => {
      say('Stopping ...');
      await receiver?.close().catch(() => undefined);
      await worker.shutdown().catch(() => undefined);
      await server.stop();
      await demo?.stop();
    })());
  if (demo) await showDemo(demo, receiver.url, server.uiUrl, config, say).catch(async (err) => {
    await stopAll(); // never leave the dev server running behind a failed demo
    throw err;
  });
  say('Ready. Press Ctrl-C to stop.');
  process.once('SIGINT', stopAll);
  process.once('SIGTERM', stopAll);
  const serverExited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
  const serverDied = await Promise.race([worker.done.then(() => false), serverExited.then(() => stopped === undefined)]);
  await stopAll();
  if (serverDied) logger.error(`Temporal dev server exited unexpectedly; see ${path.join(varDir, 'temporal-dev.log')}`);
  say('Stopped.');
  return serverDied ? 1 : 0;
}
