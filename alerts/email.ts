// The e-mail sink: SMTP with STARTTLS required (nodemailer), the alert as text with its JSON attached.
// The server's 250 to the message is the acknowledgement.
import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import type { AlertSink } from '../common/config';
import type { Alert } from '../store/detections';
import { alertJson, alertLine, sinkSecret, SinkError } from './alert-message';

type EmailSink = Extract<AlertSink, { type: 'email' }>;

export function emailText(alert: Alert): string {
  return [
    alert.summary,
    '',
    `Rule:       ${alert.rule} (severity ${alert.severity})`,
    `Key:        ${alert.key}`,
    `Seen:       ${alert.firstSeen} to ${alert.lastSeen} (${alert.count}×)`,
    `Alert id:   ${alert.id}`,
    `Evidence:   ${alert.evidence.map((e) => `${e.source} ${e.id}`).join(', ') || 'none'}`,
    '',
    'The alert as JSON is attached (alert.json). Look it up with: qlik-audit alerts list --json',
  ].join('\n');
}

export async function sendEmail(sink: EmailSink, alert: Alert, timeoutMs = 15_000): Promise<void> {
  const password = sinkSecret('SMTP_PASSWORD', sink.name, sink.smtp.password);
  const transport = nodemailer.createTransport({
    host: sink.smtp.host,
    port: sink.smtp.port,
    // 465 is TLS from the first byte (SMTPS); elsewhere STARTTLS, required unless starttls: false.
    secure: sink.smtp.port === 465,
    requireTLS: sink.smtp.starttls && sink.smtp.port !== 465,
    ignoreTLS: !sink.smtp.starttls && sink.smtp.port !== 465,
    tls: sink.smtp.ca ? { ca: readFileSync(sink.smtp.ca) } : undefined,
    auth: sink.smtp.user ? { user: sink.smtp.user, pass: password } : undefined,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  try {
    await transport.sendMail({
      from: sink.from,
      to: sink.to,
      subject: `qlik-audit ${alertLine(alert)}`.slice(0, 200),
      text: emailText(alert),
      attachments: [{ filename: 'alert.json', content: alertJson(alert), contentType: 'application/json' }],
      headers: { 'X-Qlik-Audit-Alert-Id': alert.id },
    });
  } catch (err) {
    const e = err as Error & { code?: string; responseCode?: number };
    throw new SinkError(`e-mail ${sink.name} (${sink.smtp.host}:${sink.smtp.port}): ${e.responseCode ? `${e.responseCode} ` : ''}${e.code ?? ''} ${e.message}`.trim());
  } finally {
    transport.close();
  }
}
