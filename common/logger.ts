// Structured logs on stderr (stdout stays free for command output). On a terminal one readable line
// per record (pino-pretty, in-process and synchronous); otherwise, or with `--log-format json`, JSON
// lines for log collectors. Anything that could carry a Qlik ticket or session id is redacted before
// either is written.
import { pino, type DestinationStream, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';

export type { Logger };
export type LogFormat = 'pretty' | 'json';
export const LOG_FORMATS: readonly LogFormat[] = ['pretty', 'json'];

const REDACT = ['ticket', 'qlikTicket', 'sessionId', 'cookie', 'headers.cookie', 'headers["set-cookie"]', 'passphrase', 'apiKey', 'apiToken', 'digestKey', '*.ticket', '*.sessionId', '*.cookie', '*.passphrase', '*.digestKey'];

/** Readable lines for a person at a terminal: time, level, message, then the fields. */
function prettyStream(fd: number): DestinationStream {
  return pinoPretty({ destination: fd, sync: true, colorize: Boolean(process.stderr.isTTY), singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service,name' });
}

export function createLogger(
  name: string,
  options: { level?: string; destination?: DestinationStream; format?: LogFormat } = {},
): Logger {
  const format = options.format ?? (process.stderr.isTTY ? 'pretty' : 'json');
  const destination = options.destination ?? (format === 'pretty' ? prettyStream(2) : pino.destination({ fd: 2, sync: true }));
  return pino(
    {
      name,
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      base: { service: name },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT, censor: '[redacted]' },
    },
    destination,
  );
}
