// `qlik-audit worker --config F`: a worker for every workflow and activity on temporal.taskQueue.
import { installRuntime } from '../worker/runtime';
import { startWorker } from '../worker/start-worker';
import { LOG_FORMAT_HELP, logFormatOption, parseCommand, printHelp, requireConfig, serviceLogger } from './args';

const spec = {
  usage: 'qlik-audit worker --config <file>',
  help: `
Runs a Temporal worker for all qlik-audit workflows and activities on the task queue
temporal.taskQueue. Stops gracefully on SIGINT/SIGTERM (running activities get 10 s).
Logs go to stderr: readable lines on a terminal, JSON lines otherwise (--log-format).

Options:
  --config <file>   YAML configuration (every key: docs/configuration.md)
  --metrics <host:port>  serve Prometheus metrics of the worker (Temporal SDK metrics) there
${LOG_FORMAT_HELP}
  --verbose         show stack traces on errors
  -h, --help        this help

Environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_* override temporal.*;
LOG_LEVEL (info), TEMPORAL_LOG_LEVEL (INFO).`,
  options: { config: { type: 'string', short: 'c' }, metrics: { type: 'string' }, ...logFormatOption },
} as const;

export async function workerCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(spec, argv);
  if (values.help) return printHelp(spec), 0;
  const config = requireConfig(values.config, spec.usage);
  const logger = serviceLogger('qlik-audit-worker', values['log-format']);
  installRuntime(logger, { prometheusBindAddress: values.metrics });
  const running = await startWorker(config, logger);
  await running.done; // the SDK stops the worker on SIGINT/SIGTERM
  logger.info('worker stopped');
  return 0;
}
