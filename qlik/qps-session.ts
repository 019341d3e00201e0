// Closing a Qlik proxy session through QPS (DELETE /qps[/{vp}]/session/{id}), so a session we cached
// and dropped does not linger on the server and count against the user's access.
import { request } from 'undici';
import { type QpsEndpoint, newXrfKey, qpsUrl } from './qps-ticket';

/** Best effort: resolves to the HTTP status, or to an error description. Never throws, never logs the id. */
export async function deleteQpsSession(endpoint: QpsEndpoint, sessionId: string): Promise<number | string> {
  const xrfKey = newXrfKey();
  try {
    const response = await request(qpsUrl(endpoint, `session/${encodeURIComponent(sessionId)}`, xrfKey), {
      method: 'DELETE',
      dispatcher: endpoint.dispatcher,
      headers: { 'x-qlik-xrfkey': xrfKey },
      signal: AbortSignal.timeout(endpoint.timeoutMs),
    });
    await response.body.dump();
    return response.statusCode;
  } catch (err) {
    return (err as Error).name;
  }
}
