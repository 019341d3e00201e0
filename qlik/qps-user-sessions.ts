// A user's live Qlik proxy sessions (SPEC 3.3, userTicket mode): before redeeming a ticket on an
// event's word, QPS is asked whether the user is signed in on that virtual proxy:
//   GET https://{qps.host}:{qps.port}/qps[/{vp}]/user/{directory}/{id}?Xrfkey=…
// (Qlik's documented QPS endpoint; the answer is the user's sessions, each with its SessionId).
import { request, type Dispatcher } from 'undici';
import { z } from 'zod';
import { describeNetworkError, isTlsTrustError, permanent, transient } from '../common/failures';
import { newXrfKey, qpsName, qpsUrl, type QpsEndpoint } from './qps-ticket';

/** The part of QPS's answer we rely on: a list of sessions, each with its id (other fields pass). */
export const qpsUserSessionsSchema = z.array(z.looseObject({ SessionId: z.string().min(1).max(512) })).max(10_000);

/** The ids of the user's proxy sessions on the endpoint's virtual proxy; [] when QPS knows no such user (404). */
export async function userSessionIds(endpoint: QpsEndpoint, user: { userDirectory: string; userId: string }, signal?: AbortSignal): Promise<string[]> {
  const xrfKey = newXrfKey();
  const who = `${user.userDirectory}\\${user.userId}`;
  let response: Dispatcher.ResponseData;
  try {
    response = await request(qpsUrl(endpoint, `user/${encodeURIComponent(user.userDirectory)}/${encodeURIComponent(user.userId)}`, xrfKey), {
      method: 'GET',
      dispatcher: endpoint.dispatcher,
      headers: { 'x-qlik-xrfkey': xrfKey },
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(endpoint.timeoutMs)]) : AbortSignal.timeout(endpoint.timeoutMs),
      headersTimeout: endpoint.timeoutMs,
      bodyTimeout: endpoint.timeoutMs,
    });
  } catch (err) {
    if (isTlsTrustError(err)) throw permanent('TlsFailure', `${qpsName(endpoint)}: TLS failed (${describeNetworkError(err)}); check qlik.cert.clientCertCA and screenshots.auth.qps.host`);
    throw transient('QpsUnavailable', `${qpsName(endpoint)} unreachable: ${describeNetworkError(err)}`);
  }
  const { statusCode } = response;
  if (statusCode === 404) {
    await response.body.dump();
    return [];
  }
  if (statusCode >= 500 || statusCode === 429 || statusCode === 408) {
    await response.body.dump();
    throw transient('QpsUnavailable', `${qpsName(endpoint)} answered ${statusCode} to the session lookup for ${who}`);
  }
  if (statusCode < 200 || statusCode >= 300) {
    await response.body.dump();
    throw permanent('QpsTicketRejected', `${qpsName(endpoint)} refused the session lookup for ${who} with ${statusCode}; check qlik.cert (QPS must trust the client certificate) and the virtual proxy`);
  }
  const parsed = qpsUserSessionsSchema.safeParse(await response.body.json().catch(() => undefined));
  if (!parsed.success) throw permanent('QpsAnswerInvalid', `${qpsName(endpoint)} answered the session lookup for ${who} without a list of sessions`);
  return parsed.data.map((s) => s.SessionId);
}
