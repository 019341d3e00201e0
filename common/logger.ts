// Structured JSON logs (one object per line on stderr, so stdout stays free for command output).
// Anything that could carry a Qlik ticket or session id is redacted before it is written.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

const REDACT = ['ticket', 'qlikTicket', 'sessionId', 'cookie', 'headers.cookie', 'headers["set-cookie"]', 'passphrase', 'apiKey', 'apiToken', '*.ticket', '*.sessionId', '*.cookie', '*.passphrase'];

export function createLogger(
  name: string,
  options: { level?: string; destination?: DestinationStream } = {},
): Logger {
  return pino(
    {
      name,
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      base: { service: name },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT, censor: '[redacted]' },
    },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}
