// `qlik-audit dev [--demo] [--config F]`: the whole stack on one machine — the real Temporal dev
// server (Web UI on :8233, state in ./var/temporal.sqlite), a worker, the event receiver, and (with
// --demo) a simulated Qlik Sense with sample events.
// Ctrl-C works at any moment (starting, during the demo, idle): `Stopping ...` at once, everything
// closed within 3 s; a second Ctrl-C kills at once. The services log to ./var/qlik-audit-dev.log, so
// the terminal shows only the stack's own lines.
import path from 'node:path';
import { existsSync, mkdirSync } from 'node:fs';
import { pino } from 'pino';
import { withClient } from '../client/connect';
import { startReceiver, type RunningReceiver } from '../client/receiver/start-receiver';
import { loadConfig, parseConfig, type Config } from '../common/config';
import type { ScreenshotResult } from '../common/screenshot-result';
import { createLogger, type Logger } from '../common/logger';
import { resolveTemporalBinaries } from '../worker/temporal-cli';
import { openStore, type AuditStore } from '../store/store';
import { DEMO_CONFIG_FILE, DEMO_USER, openDemoStore, runDemoAuditLogs, runDemoEvents, startDemoQlik, writeDemoFiles, type Demo } from '../demo/demo';
import { writeEvidence } from '../audit-trail/evidence';
import { configuredDigestKey } from '../store/digest';
import { timeline } from '../store/timeline';
import { verifyStore } from '../store/verify-store';
import { collectAnchors } from '../client/ingest-anchors';
import type { ChainAnchor } from '../common/ingest-types';
import { startDevServer, type DevServer } from '../worker/dev-server';
import { listAlerts } from '../store/detections';
import { startAuditUi, type RunningAuditUi } from '../audit-ui/start-audit-ui';
import { startDemoIdentityProvider, type DemoIdentityProvider } from '../demo/demo-identity-provider';
import { installRuntime } from '../worker/runtime';
import { startWorker, type RunningWorker } from '../worker/start-worker';
import { parseCommand, printHelp } from './args';
import { describeError } from './errors';
import { redactStoreUrl } from '../common/store-url';
import { storageDirectories } from '../common/stored-files';

const spec = {
  usage: 'qlik-audit dev [--demo] [--config <file>]',
  help: `
Starts a local stack for trying qlik-audit or developing it:
  - the Temporal dev server: gRPC 127.0.0.1:7233, Web UI http://127.0.0.1:8233,
    state kept in ./var/temporal.sqlite (workflows survive a restart), log in ./var/temporal-dev.log
  - a worker for all qlik-audit workflows (Prometheus metrics on http://127.0.0.1:9464/metrics)
  - the event receiver on eventApi.host:eventApi.port (default http://127.0.0.1:8181)
Worker and receiver log to ./var/qlik-audit-dev.log (JSON lines; tail -f it to follow).
Ctrl-C stops everything within 3 s, at any moment; a second Ctrl-C kills at once.

Options:
  --demo            also run a simulated Qlik Sense (QPS + proxy over mutual TLS, certificates in
                    ./var/demo-certs), post sample Audit.qs events through the receiver, and serve
                    the auditor's view on http://127.0.0.1:8282 with a demo identity provider
                    (sign in as 'auditor' or 'operator', any password)
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
const DEMO_UI_PORT = 8282;
const DEMO_IDP_PORT = 8283;
/** How long a Ctrl-C may take before what is left is killed. */
const STOP_BUDGET_MS = 2500;

class Interrupted extends Error {
  override name = 'Interrupted';
}

/** `promise`, or a rejection as soon as `signal` aborts (the work itself is stopped by the shutdown). */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Interrupted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Interrupted());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => (signal.removeEventListener('abort', onAbort), resolve(value)),
      (err) => (signal.removeEventListener('abort', onAbort), reject(err)),
    );
  });
}

/** A path as the user would type it: relative to where they started, when below it. */
function shown(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : `./${relative}`;
}

/** Posts the sample events and prints what happened to each, with links into the Web UI. */
async function showDemo(demo: Demo, receiverUrl: string, uiUrl: string, config: Config, store: AuditStore | undefined, varDir: string, say: (line: string) => void, signal: AbortSignal) {
  say('');
  say('Demo: posting sample Audit.qs events to the receiver ...');
  const { runs, session, logs } = await withClient(config, async (client) => {
    const { runs, session } = await runDemoEvents(demo, receiverUrl, (workflowId) => unlessAborted(client.workflow.getHandle(workflowId).result() as Promise<ScreenshotResult>, signal));
    if (signal.aborted) throw new Interrupted();
    say('Demo: verifying and ingesting the sample AuditSecurity logs ...');
    // A failed ingest is shown, not fatal: the rest of the demo and the UI stay up to look into it.
    const logs = await unlessAborted(runDemoAuditLogs(client, config), signal).catch((err: Error) => {
      if (err instanceof Interrupted) throw err;
      return describeError(err, false);
    });
    return { runs, session, logs };
  });
  const user = `${DEMO_USER.userDirectory}\\${DEMO_USER.userId}`;
  say(`  - ${user}'s session in the app: ${session.accepted} of ${session.posted} Audit.qs events stored (sheet loads, selections, object views, a bookmark)`);
  for (const error of session.errors) say(`      error: ${error}`);
  for (const run of runs) {
    say(`  - ${run.title}`);
    if (run.error) say(`      error: ${run.error}`);
    if (run.result) say(`      -> ${run.result.status}${run.result.reason ? ` (${run.result.reason})` : ''}${run.result.savedPaths[0] ? `: ${run.result.savedPaths[0]}` : ''}`);
    const header = run.result?.savedPaths[0]?.replace(/\.png$/, '_metadata.png');
    if (header && header !== run.result?.savedPaths[0] && existsSync(header)) say(`         with its header band: ${header}`);
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
    say(`  ingested ${ingest.rowsStored} rows into ${redactStoreUrl(config.auditSecurityLog.store)}; schedule ingest-audit-security-logs runs every ${config.auditSecurityLog.every}: ${uiUrl}/namespaces/${config.temporal.namespace}/schedules`);
    const raised = new Set(logs.detections.alerts.map((a) => a.id));
    const alerts = store ? (await listAlerts(store)).filter((a) => raised.has(a.id)).reverse() : [];
    say(`Detections over the stored trail: ${logs.detections.raised} alert(s)${logs.detections.raised ? '' : ' (nothing suspicious)'}; schedule detect-alerts runs every ${config.detections.every} (qlik-audit alerts list)`);
    say(`  alerts go to the demo's webhook sink '${demo.siem.sink.name}', which appends each one it receives to ${shown(demo.siem.file)}`);
    for (const alert of alerts.slice(0, 5)) say(`  - [${alert.severity}] ${alert.rule}: ${alert.summary.slice(0, 110)}`);
  }
  say(`Find a user's runs in the UI: ${uiUrl}/namespaces/${config.temporal.namespace}/workflows?query=${encodeURIComponent(`QlikUserId="${DEMO_USER.userId}"`)}`);
  if (store && typeof logs !== 'string') await showTrail(store, config, logs.ingest.anchor, varDir, say);
  say('');
}

/** The demo user's timeline (what they did, saw, and what Qlik recorded) and an evidence bundle. */
async function showTrail(store: AuditStore, config: Config, anchor: ChainAnchor | undefined, varDir: string, say: (line: string) => void) {
  const user = `${DEMO_USER.userDirectory}\\${DEMO_USER.userId}`;
  const from = '2019-02-01T10:00:00.000Z';
  const to = '2019-02-01T10:10:00.000Z';
  say('');
  say(`Audit trail of ${user}, ${from} to ${to} (npx qlik-audit audit timeline --config ${shown(path.join(varDir, DEMO_CONFIG_FILE))} --user '${user}' --from ${from} --to ${to}):`);
  for await (const entry of timeline(store, { ...DEMO_USER, from, to })) {
    say(`  ${entry.time.slice(11, 23)}  ${entry.source.padEnd(12)}  ${entry.type.padEnd(36)}  ${entry.detail.slice(0, 90)}`);
  }
  const out = path.join(varDir, 'evidence', `${DEMO_USER.userDirectory}-${DEMO_USER.userId}.zip`);
  mkdirSync(path.dirname(out), { recursive: true });
  const key = configuredDigestKey(config.auditSecurityLog.digestKey);
  const found = await collectAnchors(config, key, { temporal: false }); // the demo's ingest run has just written the anchor log
  const anchors = found.anchors.length > 0 ? found.anchors : anchor ? [{ ...anchor, source: 'the demo\'s ingest run' }] : [];
  const verifyReport = await verifyStore(store, { key, anchors, anchorProblems: found.problems, required: true, anchorsUnavailable: found.unavailable });
  const bundle = await writeEvidence(store, { query: { ...DEMO_USER, from: '2019-01-01T00:00:00.000Z', to: new Date(Date.now() + 86_400_000).toISOString() }, verifyReport, out, producer: 'qlik-audit dev --demo', storageDirectories: storageDirectories(config), anchorFile: config.auditSecurityLog.anchorFile });
  say(`Evidence bundle: ${out} (${bundle.entries} entries, ${bundle.screenshots} screenshot(s), ${bundle.securityRows} AuditSecurity rows; store ${verifyReport.ok ? 'intact' : 'NOT intact'})`);
  say(`  sha256 ${bundle.zipSha256}; check it: unzip it, then sha256sum -c MANIFEST.sha256`);
}

/** The JSON log file of the services (kept out of the terminal, where the demo prints its summary). */
function fileLogger(file: string): Logger {
  mkdirSync(path.dirname(file), { recursive: true });
  return createLogger('qlik-audit-dev', { destination: pino.destination({ dest: file, append: true, sync: true }) });
}

export async function devCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(spec, argv);
  if (values.help) return printHelp(spec), 0;
  const varDir = path.resolve(values.var ?? 'var');
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const steps = values.demo ? 5 : 4;

  // What is running, stopped in reverse order; Ctrl-C is handled from the first moment on.
  let demo: Demo | undefined;
  let server: DevServer | undefined;
  let worker: RunningWorker | undefined;
  let receiver: RunningReceiver | undefined;
  let auditUi: RunningAuditUi | undefined;
  let idp: DemoIdentityProvider | undefined;
  let store: AuditStore | undefined;
  // A store still opening when Ctrl-C comes is closed once open: its embedded server must not outlive us.
  let storeOpening: Promise<AuditStore | undefined> | undefined;
  const interrupted = new AbortController();
  let stopping: Promise<void> | undefined;
  const stopAll = (why: string) =>
    (stopping ??= (async () => {
      if (why) say(why);
      interrupted.abort();
      const stop = (async () => {
        await auditUi?.close().catch(() => undefined);
        await idp?.close().catch(() => undefined);
        await receiver?.close().catch(() => undefined);
        await worker?.shutdown().catch(() => undefined);
        await (store ?? (await storeOpening))?.close().catch(() => undefined);
        await demo?.stop().catch(() => undefined);
      })();
      // The worker gets what is left of the budget; the dev server is stopped in any case (SIGKILL at the end).
      await Promise.race([stop, new Promise((resolve) => setTimeout(resolve, STOP_BUDGET_MS - 800).unref())]);
      await server?.stop(700);
    })());
  const onSignal = () => {
    if (stopping) {
      // A second Ctrl-C: kill what is left, now.
      server?.child.kill('SIGKILL');
      process.exit(130);
    }
    void stopAll('Stopping ...');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const check = () => {
    if (interrupted.signal.aborted) throw new Interrupted();
  };

  try {
    say('qlik-audit dev: starting (Ctrl-C to stop)');
    let config: Config = values.config ? loadConfig(values.config) : parseConfig({}, { source: '(embedded defaults)', baseDir: process.cwd() });
    if (values.demo) {
      say(`  [1/${steps}] starting the simulated Qlik Sense (certificates in ${path.join(varDir, 'demo-certs')}) ...`);
      demo = await unlessAborted(startDemoQlik(varDir), interrupted.signal);
      config = parseConfig({ ...config, ...demo.config }, { source: '(demo)', baseDir: process.cwd() });
      // The auditor's view signs people in through a local demo identity provider.
      idp = await unlessAborted(startDemoIdentityProvider({ port: DEMO_IDP_PORT, redirectUris: [`http://${DEV_IP}:${DEMO_UI_PORT}/auth/callback`] }), interrupted.signal);
      config = {
        ...config,
        auditUi: {
          ...config.auditUi,
          enable: true,
          host: DEV_IP,
          port: DEMO_UI_PORT,
          oidc: { ...config.auditUi.oidc, issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, redirectUri: `http://${DEV_IP}:${DEMO_UI_PORT}/auth/callback`, rolesClaim: 'groups', auditorValues: ['qlik-auditors'], operatorValues: ['qlik-operators'] },
        },
      };
    }
    const step = (n: number, text: string) => say(`  [${n + (values.demo ? 1 : 0)}/${steps}] ${text}`);
    step(1, 'locating the Temporal CLI ...');
    const { cli } = resolveTemporalBinaries({ log: (line) => say(`        ${line}`) });
    check();
    step(2, `starting the Temporal dev server (${cli}) ...`);
    server = await startDevServer({
      cli,
      ip: DEV_IP,
      port: DEV_PORT,
      uiPort: DEV_UI_PORT,
      dbFile: path.join(varDir, 'temporal.sqlite'),
      logFile: path.join(varDir, 'temporal-dev.log'),
      namespaces: config.temporal.namespace === 'default' ? [] : [config.temporal.namespace],
      signal: interrupted.signal,
    });
    check();
    // The dev server is local: point the worker at it whatever the config says.
    process.env.TEMPORAL_ADDRESS = server.address;

    const logFile = path.join(varDir, 'qlik-audit-dev.log');
    const logger = fileLogger(logFile);
    installRuntime(logger, { prometheusBindAddress: DEV_METRICS, handleSignals: false });
    step(3, 'starting the worker ...');
    // One handle on the store for the worker, the receiver and the demo (one pool, one presence on the embedded server).
    const opening = demo ? openDemoStore(config.auditSecurityLog.store) : openStore(config.auditSecurityLog.store, { applicationName: 'qlik-audit dev' });
    storeOpening = opening.catch(() => undefined);
    store = await unlessAborted(opening, interrupted.signal);
    worker = await unlessAborted(startWorker(config, logger, { auditStore: store }), interrupted.signal);
    step(4, 'starting the event receiver ...');
    // On the worker's connection: screenshot runs start eagerly on this worker.
    receiver = await unlessAborted(startReceiver(config, logger, { store, workerConnection: worker.connection }), interrupted.signal);
    if (config.auditUi.enable) auditUi = await unlessAborted(startAuditUi(config, store, logger), interrupted.signal);
    // The demo's own settings as a file, for trying commands; with --config, the running demo holds settings the file would not.
    const demoFiles = demo && !values.config;
    if (demo && demoFiles) writeDemoFiles(varDir, demo, { address: server.address, namespace: config.temporal.namespace, taskQueue: config.temporal.taskQueue }, { host: config.eventApi.host, port: config.eventApi.port });

    say('');
    say(`Temporal Web UI:  ${server.uiUrl}`);
    say(`Temporal gRPC:    ${server.address}  (namespace ${config.temporal.namespace}, task queue ${config.temporal.taskQueue})`);
    say(`Event receiver:   ${receiver.url}/api/v1/audit-event`);
    say(`Worker metrics:   http://${DEV_METRICS}/metrics   receiver metrics: ${receiver.url}/metrics`);
    say(`Service logs:     ${logFile}`);
    if (auditUi) say(`Auditor's view:   ${auditUi.url}${idp ? "  (demo sign-in: user 'auditor', any password; 'operator' sees the store status only)" : ''}`);
    if (demoFiles) say(`Try commands:     npx qlik-audit alerts list --config ${shown(path.join(varDir, DEMO_CONFIG_FILE))}  (every command: docs/commands.md)`);

    if (demo) await showDemo(demo, receiver.url, server.uiUrl, config, store, varDir, say, interrupted.signal);
    say('Ready. Press Ctrl-C to stop.');

    const serverExited = new Promise<boolean>((resolve) => server?.child.once('exit', () => resolve(stopping === undefined)));
    const serverDied = await Promise.race([worker.done.then(() => false), serverExited, new Promise<false>((resolve) => interrupted.signal.addEventListener('abort', () => resolve(false)))]);
    if (serverDied) {
      await stopAll('');
      throw new Error(`Temporal dev server exited unexpectedly; see ${path.join(varDir, 'temporal-dev.log')}`);
    }
    await stopAll('');
    say('Stopped.');
    return 0;
  } catch (err) {
    const byUser = err instanceof Interrupted || interrupted.signal.aborted; // before stopAll aborts: a failure is not a Ctrl-C
    await stopAll(''); // never leave the dev server running behind a failure
    if (byUser) {
      say('Stopped.');
      return 130;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
