// Redeeming a Qlik Proxy Service (QPS) ticket over mutual TLS (SPEC 3.3):
//   POST https://{qps.host}:{qps.port}/qps[/{vp}]/ticket?Xrfkey={16 chars}
// with the same key in X-Qlik-Xrfkey, body {UserDirectory, UserId}; the answer's `Ticket` is
// appended to the image URL as `qlikTicket`. The ticket never leaves the activity that redeems it.
import { randomBytes } from 'node:crypto';
import { request, type Dispatcher } from 'undici';
import { z } from 'zod';
import { describeNetworkError, isTlsTrustError, permanent, transient } from '../common/failures';

/** The part of the QPS ticket answer we rely on; other fields (Attributes, TargetUri) pass through. */
export const qpsTicketAnswerSchema = z.looseObject({
  Ticket: z.string().min(1).max(512),
  UserDirectory: z.string().optional(),
  UserId: z.string().optional(),
});

export interface QpsEndpoint {
  host: string;
  port: number;
  /** Virtual proxy prefix; '' for the default proxy. */
  virtualProxy: string;
  timeoutMs: number;
  dispatcher: Dispatcher;
}

const XRF_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Qlik's cross-site request forgery key: 16 characters, sent as query parameter and header. */
export function newXrfKey(): string {
  return Array.from(randomBytes(16), (b) => XRF_ALPHABET[b % XRF_ALPHABET.length]).join('');
}

/** https://host:port/qps[/vp]/{path}?Xrfkey=… */
export function qpsUrl(endpoint: QpsEndpoint, path: string, xrfKey: string): string {
  const vp = endpoint.virtualProxy ? `/${encodeURIComponent(endpoint.virtualProxy)}` : '';
  return `https://${endpoint.host}:${endpoint.port}/qps${vp}/${path}?Xrfkey=${xrfKey}`;
}

export function qpsName(endpoint: QpsEndpoint): string {
  return `QPS ${endpoint.host}:${endpoint.port}${endpoint.virtualProxy ? ` (virtual proxy ${endpoint.virtualProxy})` : ''}`;
}

/** Returns the ticket. Transient problems (network, timeout, 5xx, 429) throw retryable failures; 4xx and bad answers do not. */
export async function redeemQpsTicket(endpoint: QpsEndpoint, user: { userDirectory: string; userId: string }, signal?: AbortSignal): Promise<string> {
  const xrfKey = newXrfKey();
  const who = `${user.userDirectory}\\${user.userId}`;
  let response: Dispatcher.ResponseData;
  try {
    response = await request(qpsUrl(endpoint, 'ticket', xrfKey), {
      method: 'POST',
      dispatcher: endpoint.dispatcher,
      headers: { 'content-type': 'application/json', 'x-qlik-xrfkey': xrfKey },
      body: JSON.stringify({ UserDirectory: user.userDirectory, UserId: user.userId }),
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(endpoint.timeoutMs)]) : AbortSignal.timeout(endpoint.timeoutMs),
      headersTimeout: endpoint.timeoutMs,
      bodyTimeout: endpoint.timeoutMs,
    });
  } catch (err) {
    if (isTlsTrustError(err)) {
      throw permanent('TlsFailure', `${qpsName(endpoint)}: TLS failed (${describeNetworkError(err)}); check qlik.cert.clientCertCA and screenshots.auth.qps.host`);
    }
    throw transient('QpsUnavailable', `${qpsName(endpoint)} unreachable: ${describeNetworkError(err)}`);
  }
  const { statusCode } = response;
  if (statusCode >= 500 || statusCode === 429 || statusCode === 408) {
    await response.body.dump();
    throw transient('QpsUnavailable', `${qpsName(endpoint)} answered ${statusCode} to the ticket request for ${who}`);
  }
  if (statusCode < 200 || statusCode >= 300) {
    await response.body.dump();
    throw permanent(
      'QpsTicketRejected',
      `${qpsName(endpoint)} refused the ticket request for ${who} with ${statusCode}; check qlik.cert (QPS must trust the client certificate) and the virtual proxy`,
    );
  }
  let answer: unknown;
  try {
    answer = await response.body.json();
  } catch {
    throw permanent('QpsAnswerInvalid', `${qpsName(endpoint)} answered ${statusCode} with a body that is not JSON`);
  }
  const parsed = qpsTicketAnswerSchema.safeParse(answer);
  if (!parsed.success) throw permanent('QpsAnswerInvalid', `${qpsName(endpoint)} answered without a usable Ticket field`);
  return parsed.data.Ticket;
}
