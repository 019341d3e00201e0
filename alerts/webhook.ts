// The webhook sink: an HTTPS POST of the alert's JSON, signed so the receiver knows it is ours and
// unaltered: X-Qlik-Audit-Signature: sha256=<hex HMAC-SHA256 of the exact body under the shared secret>.
// Any 2xx is the receiver's acknowledgement.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import type { AlertSink } from '../common/config';
import type { Alert } from '../store/detections';
import { alertJson, sinkSecret, SinkError } from './alert-message';

type WebhookSink = Extract<AlertSink, { type: 'webhook' }>;

export const signatureOf = (body: string, secret: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

export async function sendWebhook(sink: WebhookSink, alert: Alert, timeoutMs = 15_000): Promise<void> {
  const body = alertJson(alert);
  const secret = sinkSecret('ALERT_SECRET', sink.name, sink.secret);
  const dispatcher = new Agent({ connect: sink.ca ? { ca: readFileSync(sink.ca) } : {}, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  try {
    const res = await request(sink.url, {
      method: 'POST',
      dispatcher,
      // Always signed (an empty secret still makes an HMAC, which proves nothing: the worker warns at start).
      headers: { 'content-type': 'application/json', 'user-agent': 'qlik-audit', 'x-qlik-audit-signature': signatureOf(body, secret) },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = (await res.body.text()).slice(0, 200);
    if (res.statusCode < 200 || res.statusCode >= 300) throw new SinkError(`webhook ${sink.name} (${new URL(sink.url).origin}) answered ${res.statusCode}${text ? `: ${text}` : ''}`);
  } catch (err) {
    if (err instanceof SinkError) throw err;
    const e = err as Error & { code?: string };
    throw new SinkError(`webhook ${sink.name}: cannot reach ${new URL(sink.url).origin} (${e.code ?? e.message})`);
  } finally {
    await dispatcher.close().catch(() => undefined);
  }
}
