// `qlik-audit codec-server --config F`: the Temporal Web UI's remote codec endpoint (SPEC 8).
import { createCodecServer } from '../client/codec-server';
import { dataConverterFor } from '../common/encryption-codec';
import { parseCommand, printHelp, requireConfig } from './args';
import { EXIT_OK, UsageError } from './errors';

const spec = {
  usage: 'qlik-audit codec-server --config <file>',
  help: `
Serves the Temporal Web UI's "remote codec endpoint" on codecServer.host:port (default
127.0.0.1:8888): the UI sends it the encrypted payloads of a workflow's history and shows what comes
back, so an authorised operator reads user names, apps and URLs that the Temporal server only holds
encrypted (temporal.encryption). It answers the UI's origins (codecServer.allowedOrigins) and only
with the token (codecServer.token or env QLIK_AUDIT_CODEC_TOKEN).

In the Web UI (top right, the data encoder settings), set the endpoint to
  http://127.0.0.1:8888/t/<token>
— or start the UI with it: temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8888/t/<token>.
Scripts send Authorization: Bearer <token> to http://127.0.0.1:8888/decode.

Options:
  --config <file>   YAML configuration (temporal.encryption, codecServer)
  -h, --help        this help`,
  options: { config: { type: 'string', short: 'c' } },
} as const;

export async function codecServerCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(spec, argv);
  if (values.help) return printHelp(spec), EXIT_OK;
  const config = requireConfig(values.config, spec.usage);
  const converter = dataConverterFor(config);
  if (!converter) throw new UsageError('temporal.encryption is not set: there is nothing to decode (see docs/encryption.md)');
  const token = process.env.QLIK_AUDIT_CODEC_TOKEN || config.codecServer.token;
  const app = await createCodecServer(config, converter.payloadCodecs[0] as never, token);
  const { host, port } = config.codecServer;
  await app.listen({ host, port });
  process.stderr.write(`qlik-audit codec-server: listening on http://${host}:${port} for ${config.codecServer.allowedOrigins.join(', ')} (Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await app.close();
  process.stderr.write('qlik-audit codec-server: stopped\n');
  return EXIT_OK;
}
