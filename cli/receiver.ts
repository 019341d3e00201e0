// `qlik-audit receiver --config F`: the Butler-SOS-compatible event API (SPEC 4).
import { startReceiver } from '../client/receiver/start-receiver';
import { createLogger } from '../common/logger';
import { parseCommand, printHelp, requireConfig } from './args';

const spec = {
  usage: 'qlik-audit receiver --config <file>',
  help: `
Runs the event API on eventApi.host:eventApi.port (default 127.0.0.1:8181):
  POST /api/v1/audit-event       Audit.qs events; 202 once Temporal has accepted the workflow start
  GET  /api/v1/test-connection   for Audit.qs's connection test
  GET  /metrics                  Prometheus metrics
With eventApi.apiToken set, /api requests need "Authorization: Bearer <token>".
Logs are JSON lines on stderr. Stops on SIGINT/SIGTERM.

Options:
  --config <file>   YAML configuration
  --port <n>        override eventApi.port
  --verbose         show stack traces on errors
  -h, --help        this help`,
  options: { config: { type: 'string', short: 'c' }, port: { type: 'string' } },
} as const;

export async function receiverCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(spec, argv);
  if (values.help) return printHelp(spec), 0;
  const config = requireConfig(values.config, spec.usage);
  const logger = createLogger('qlik-audit-receiver');
  const receiver = await startReceiver(config, logger, { port: values.port ? Number(values.port) : undefined });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await receiver.close();
  logger.info('receiver stopped');
  return 0;
}
