// Structured JSON logs (one object per line on stderr, so stdout stays free for command output).
// Anything that could carry a Qlik ticket or session id is redacted before it is written.
import { pino, type Logger } from 'pino';

export type { Logger };

const REDACT = ['ticket', 'qlikTicket', 'sessionId', 'cookie', 'headers.cookie', 'headers["set-cookie"]', 'passphrase', 'apiKey', 'apiToken', '*.ticket', '*.sessionId', '*.cookie', '*.passphrase'];

export function createLogger(name: string, level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      name,
      level,
      base: { service: name },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT, censor: '[redacted]' },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}
