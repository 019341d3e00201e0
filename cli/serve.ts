// `qlik-audit serve --config F`: a worker and the event receiver in one process, against a real
// Temporal cluster. Sharing the process lets the receiver start screenshot runs eagerly on this
// worker (the first workflow task comes back with the start response), and lets both share one
// connection pool to the audit store.
import { startAuditUi, type RunningAuditUi } from '../audit-ui/start-audit-ui';
import { startReceiver, type RunningReceiver } from '../client/receiver/start-receiver';
import { openStore, type AuditStore } from '../store/store';
import { installRuntime } from '../worker/runtime';
import { startWorker, type RunningWorker } from '../worker/start-worker';
import { LOG_FORMAT_HELP, logFormatOption, parseCommand, printHelp, requireConfig, serviceLogger } from './args';

const spec = {
  usage: 'qlik-audit serve --config <file>',
  help: `
Runs a worker (as 'qlik-audit worker') and the event API (as 'qlik-audit receiver') in one
process. Screenshot events then start their runs eagerly on this worker: the Temporal server
hands the run's first workflow task back with the start response, one round trip less per
event (needs system.enableEagerWorkflowStart on the cluster; without it runs start as usual).
Worker and receiver share one connection pool to auditSecurityLog.store. With auditUi.enable
(and auditUi.oidc) it also serves the auditor's view on auditUi.host:auditUi.port. Run more
'qlik-audit worker' processes beside it to share the load.
Stops on SIGINT/SIGTERM: the receiver first (requests in flight finish), then the worker
(running activities get 10 s).

Options:
  --config <file>   YAML configuration (every key: docs/configuration.md)
  --port <n>        override eventApi.port
  --metrics <host:port>  serve Prometheus metrics of the worker (Temporal SDK metrics) there
${LOG_FORMAT_HELP}
  --verbose         show stack traces on errors
  -h, --help        this help

Environment: as 'qlik-audit worker'.`,
  options: { config: { type: 'string', short: 'c' }, port: { type: 'string' }, metrics: { type: 'string' }, ...logFormatOption },
} as const;

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(spec, argv);
  if (values.help) return printHelp(spec), 0;
  const config = requireConfig(values.config, spec.usage);
  const logger = serviceLogger('qlik-audit-serve', values['log-format']);
  // Signals are ours: the receiver must stop before the worker whose connection it uses.
  installRuntime(logger, { prometheusBindAddress: values.metrics, handleSignals: false });

  let stopRequested!: () => void;
  const stop = new Promise<void>((resolve) => (stopRequested = resolve));
  process.once('SIGINT', () => stopRequested());
  process.once('SIGTERM', () => stopRequested());

  let store: AuditStore | undefined;
  let worker: RunningWorker | undefined;
  let receiver: RunningReceiver | undefined;
  let auditUi: RunningAuditUi | undefined;
  try {
    store = await openStore(config.auditSecurityLog.store, { applicationName: 'qlik-audit serve' }).catch((err: Error) => {
      throw new Error(`cannot open the audit store (auditSecurityLog.store): ${err.message.split('\n')[0]}`, { cause: err });
    });
    worker = await startWorker(config, logger, { auditStore: store });
    receiver = await startReceiver(config, logger, { port: values.port ? Number(values.port) : undefined, store, workerConnection: worker.connection });
    if (config.auditUi.enable) auditUi = await startAuditUi(config, store, logger);
    const workerStopped = await Promise.race([stop.then(() => false), worker.done.then(() => true)]);
    if (workerStopped) throw new Error('the worker stopped unexpectedly; see the log above');
    logger.info('stopping');
    return 0;
  } finally {
    await auditUi?.close().catch((err: Error) => logger.warn({ err: err.message }, "auditor's view did not close cleanly"));
    await receiver?.close().catch((err: Error) => logger.warn({ err: err.message }, 'receiver did not close cleanly'));
    await worker?.shutdown().catch((err: Error) => logger.warn({ err: err.message }, 'worker did not stop cleanly'));
    await store?.close().catch(() => undefined);
    logger.info('stopped');
  }
}
