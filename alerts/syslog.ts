// The syslog sink, as a SIEM takes it: RFC 5424 messages over TCP and TLS with RFC 5425 octet-counting
// framing ("<length> <message>"). APP-NAME qlik-audit, MSGID the rule, the alert's JSON as the MSG.
// Syslog has no acknowledgement: a message counts as delivered once TLS has accepted it and the
// connection closed cleanly. (Formatting is a few lines of the RFC; the syslog packages on npm either
// lack TLS or are unmaintained.)
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import tls from 'node:tls';
import type { AlertSink } from '../common/config';
import type { Alert, Severity } from '../store/detections';
import { alertJson, SinkError } from './alert-message';

type SyslogSink = Extract<AlertSink, { type: 'syslog' }>;

/** Facility 13 (log audit); severities: critical → 2, high → 3, medium → 4, low → 5. */
const FACILITY = 13;
const LEVEL: Record<Severity, number> = { critical: 2, high: 3, medium: 4, low: 5 };
/** PRINTUSASCII without space, at most `max` characters; '-' when empty (RFC 5424 NILVALUE). */
const field = (text: string, max: number) => text.replace(/[^\x21-\x7e]/g, '_').slice(0, max) || '-';

export function syslogMessage(alert: Alert, now = new Date()): string {
  const pri = FACILITY * 8 + (LEVEL[alert.severity] ?? 4);
  const sd = `[qlikaudit@32473 alertId="${alert.id.replace(/["\\\]]/g, '\\$&')}" severity="${alert.severity}"]`;
  // MSG is UTF-8 (user names, summaries): RFC 5424 6.4 has it start with a BOM.
  return `<${pri}>1 ${now.toISOString()} ${field(hostname(), 255)} qlik-audit ${process.pid} ${field(alert.rule, 32)} ${sd} \uFEFF${alertJson(alert)}`;
}

export function sendSyslog(sink: SyslogSink, alert: Alert, timeoutMs = 15_000): Promise<void> {
  const message = Buffer.from(syslogMessage(alert), 'utf8');
  const frame = Buffer.concat([Buffer.from(`${message.length} `), message]);
  return new Promise<void>((resolve, reject) => {
    const fail = (why: string) => reject(new SinkError(`syslog ${sink.name} (${sink.host}:${sink.port}): ${why}`));
    const socket = tls.connect({ host: sink.host, port: sink.port, servername: /^[\d.]+$|:/.test(sink.host) ? undefined : sink.host, ...(sink.tls.ca ? { ca: readFileSync(sink.tls.ca) } : {}) });
    socket.setTimeout(timeoutMs, () => (socket.destroy(), fail(`no answer within ${timeoutMs} ms`)));
    socket.on('error', (err: Error & { code?: string }) => fail(err.code ?? err.message));
    socket.once('secureConnect', () => socket.end(frame));
    socket.once('close', (hadError) => (hadError ? undefined : resolve()));
  });
}
