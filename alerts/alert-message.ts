// What every sink sends: the alert as one JSON object (SPEC 7), and its one-line text.
import type { Alert } from '../store/detections';

export const alertJson = (alert: Alert): string =>
  JSON.stringify({ id: alert.id, rule: alert.rule, severity: alert.severity, key: alert.key, summary: alert.summary, firstSeen: alert.firstSeen, lastSeen: alert.lastSeen, count: alert.count, evidence: alert.evidence });

export const alertLine = (alert: Alert) => `[${alert.severity.toUpperCase()}] ${alert.rule}: ${alert.summary}`;

/** The environment variable that may hold a sink's secret (QLIK_AUDIT_ALERT_SECRET_SOC, …). */
export const sinkSecretEnv = (what: 'ALERT_SECRET' | 'SMTP_PASSWORD', sinkName: string) => `QLIK_AUDIT_${what}_${sinkName.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;

/** A sink's secret from the environment (sinkSecretEnv), else the configured one. */
export function sinkSecret(what: 'ALERT_SECRET' | 'SMTP_PASSWORD', sinkName: string, configured: string): string {
  return process.env[sinkSecretEnv(what, sinkName)] || configured;
}

/** A sink that did not take the alert (the message says which and why). */
export class SinkError extends Error {
  override name = 'SinkError';
}
