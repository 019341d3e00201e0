// `qlik-audit receiver --config F`: the Butler-SOS-compatible event API (SPEC 4).
import { startReceiver } from '../client/receiver/start-receiver';
import { LOG_FORMAT_HELP, logFormatOption, parseCommand, printHelp, requireConfig, serviceLogger } from './args';

const spec = {
  usage: 'qlik-audit receiver --config <file>',
  help: `
Runs the event API on eventApi.host:eventApi.port (default 127.0.0.1:8181), compatible with
Butler SOS, for Audit.qs running in users' browsers inside the Qlik hub:
  POST /api/v1/audit-event       Audit.qs events; 202 once the event is durable
  GET  /api/v1/test-connection   for Audit.qs's connection test
  GET  /metrics                  Prometheus metrics
eventApi.apiToken    every route needs "Authorization: Bearer <token>" (CORS preflights excepted)
eventApi.cors        the hub origins allowed to post (e.g. https://qlik.example.com)
eventApi.tls         HTTPS with a PEM certificate and key (an HTTPS hub cannot post to http://)
eventApi.trustProxy  behind IIS/nginx: whose X-Forwarded-For to believe
See docs/event-api.md, "Connecting Audit.qs", for a curl checklist.
Logs go to stderr: readable lines on a terminal, JSON lines otherwise (--log-format). Stops on SIGINT/SIGTERM.

Options:
  --config <file>   YAML configuration
  --port <n>        override eventApi.port
${LOG_FORMAT_HELP}
  --verbose         show stack traces on errors
  -h, --help        this help`,
  options: { config: { type: 'string', short: 'c' }, port: { type: 'string' }, ...logFormatOption },
} as const;

export async function receiverCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(spec, argv);
  if (values.help) return printHelp(spec), 0;
  const config = requireConfig(values.config, spec.usage);
  const logger = serviceLogger('qlik-audit-receiver', values['log-format']);
  const receiver = await startReceiver(config, logger, { port: values.port ? Number(values.port) : undefined });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await receiver.close();
  logger.info('receiver stopped');
  return 0;
}
