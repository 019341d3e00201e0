// Audit.qs as it really posts: from a page of the Qlik hub (HTTPS, its own certificate) in a browser,
// cross-origin, with the bearer token, to the receiver over HTTPS. Chromium sends the CORS preflight
// and enforces the answer: the hub's origin gets its 202 and the workflow exists; a page from an
// origin that is not allowed cannot post, and nothing starts. PNGs and the console go to test-artifacts/.
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { createReceiver } from '../client/receiver/server';
import { loadReceiverTls } from '../client/receiver/tls';
import { parseConfig } from '../common/config';
import { createLogger } from '../common/logger';
import { launchChromium } from './helpers/chromium';
import { screenshotEvent } from '../demo/sample-events';
import { startTestbed } from './helpers/screenshot-testbed';
import { devServer } from './helpers/temporal';
import { eventStoreFor } from './helpers/event-store';
import { createPki } from '../demo/simulated-qlik/pki';

const ARTIFACTS = path.resolve(__dirname, '..', 'test-artifacts');
const TOKEN = 'browser-test-token';

/** Chromium trusts exactly these certificates (by public key), nothing else. */
const spki = (pem: string) => createHash('sha256').update(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' })).digest('base64');

function hubPage(title: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head>
<body style="font-family: sans-serif"><h1>${title}</h1><p>Audit.qs would run here.</p><pre id="result">(nothing posted yet)</pre></body></html>`;
}

async function listenHub(cert: string, key: string, title: string): Promise<{ origin: string; close(): void }> {
  const server = https.createServer({ cert, key }, (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(hubPage(title)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

let browser: Browser | undefined;
after(async () => browser?.close());

test('a hub page posts an event cross-origin over HTTPS with the token; a page from another origin cannot', async () => {
  const env = await devServer();
  const bed = await startTestbed(env);
  const hubPki = createPki(mkdtempSync(path.join(tmpdir(), 'qa-hub-pki-'))); // the hub has its own CA and certificate
  const hub = await listenHub(hubPki.serverCert, hubPki.serverKey, 'Qlik Sense hub (allowed origin)');
  const stranger = await listenHub(hubPki.serverCert, hubPki.serverKey, 'Another site (not allowed)');

  const certDir = path.dirname(bed.config.qlik.cert.clientCertCA);
  const config = parseConfig(
    {
      ...bed.config,
      eventApi: { apiToken: TOKEN, rateLimitPerMinute: 3, cors: { allowedOrigins: [hub.origin] }, tls: { enable: true, cert: path.join(certDir, 'server.pem'), key: path.join(certDir, 'server_key.pem') } },
    },
    { source: 'test', baseDir: bed.dir },
  );
  const receiver = await createReceiver({ config, events: (await eventStoreFor(config)).events, client: env.client, taskQueue: bed.taskQueue, logger: createLogger('test', { level: 'error' }), tls: loadReceiverTls(config) });
  await receiver.listen({ host: '127.0.0.1', port: 0 });
  const receiverUrl = `https://127.0.0.1:${(receiver.server.address() as AddressInfo).port}`;

  browser ??= await launchChromium([`--ignore-certificate-errors-spki-list=${spki(hubPki.serverCert)},${spki(readFileSync(path.join(certDir, 'server.pem'), 'utf8'))}`]);
  mkdirSync(ARTIFACTS, { recursive: true });
  const console: string[] = [];
  const post = async (origin: string, name: string, event: object) => {
    const page = await browser!.newPage({ viewport: { width: 1000, height: 500 } });
    page.on('console', (message) => console.push(`[${name}] ${message.type()}: ${message.text()}`));
    try {
      await page.goto(`${origin}/hub/stream/everyone`);
      const outcome = await page.evaluate(
        async ({ url, token, body }) => {
          let text: string;
          let result: { status?: number; body?: unknown; error?: string; retryAfter?: string | null };
          try {
            const response = await fetch(`${url}/api/v1/audit-event`, {
              method: 'POST',
              headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'X-Audit-QS-Version': '0.4.0' },
              body: JSON.stringify(body),
            });
            result = { status: response.status, body: await response.json(), retryAfter: response.headers.get('Retry-After') };
            text = `POST ${url}/api/v1/audit-event -> ${response.status}\n${JSON.stringify(result.body, null, 2)}`;
          } catch (err) {
            result = { error: String(err) };
            text = `POST ${url}/api/v1/audit-event -> failed in the browser: ${String(err)}`;
          }
          (globalThis as unknown as { document: { getElementById(id: string): { textContent: string } } }).document.getElementById('result').textContent = text;
          return result;
        },
        { url: receiverUrl, token: TOKEN, body: event },
      );
      await page.screenshot({ path: path.join(ARTIFACTS, `receiver-browser-${name}.png`) });
      return outcome;
    } finally {
      await page.close();
    }
  };

  try {
    const event = screenshotEvent(bed.qlik.url('/tempcontent/from-browser.png'), 'UserDirectory=LAB; UserId=browser');
    const allowed = await post(hub.origin, 'hub', event);
    assert.equal(allowed.status, 202, JSON.stringify(allowed));
    assert.deepEqual({ ...(allowed.body as object), receivedAt: undefined }, { status: 'accepted', receivedAt: undefined, outcome: 'processed', eventId: event.eventId, workflowId: `screenshot-${event.eventId}` });
    assert.equal((await env.client.workflow.getHandle(`screenshot-${event.eventId}`).result()).status, 'stored');

    const foreign = screenshotEvent(bed.qlik.url('/tempcontent/from-stranger.png'), 'UserDirectory=LAB; UserId=stranger');
    const refused = await post(stranger.origin, 'other-origin', foreign);
    assert.match(String(refused.error), /Failed to fetch/, 'the browser refuses the cross-origin post');
    assert.ok(console.some((line) => line.startsWith('[other-origin]') && /CORS policy/.test(line)), console.join('\n'));
    await assert.rejects(env.client.workflow.getHandle(`screenshot-${foreign.eventId}`).describe(), /not found/i, 'nothing started');

    // Over the rate limit, the page's script can read when to try again (Retry-After is exposed to it).
    let limited: Awaited<ReturnType<typeof post>> | undefined;
    for (let i = 0; i < 5 && limited?.status !== 429; i++) {
      limited = await post(hub.origin, 'hub-rate-limited', { ...screenshotEvent(bed.qlik.url('/tempcontent/again.png'), 'UserDirectory=LAB; UserId=browser'), type: 'navigation.sheet.loaded', payload: {} });
    }
    assert.equal(limited?.status, 429, JSON.stringify(limited));
    assert.match(String(limited?.retryAfter), /^\d+$/, 'Retry-After readable cross-origin');
  } finally {
    writeFileSync(path.join(ARTIFACTS, 'receiver-browser-console.log'), `${console.join('\n')}\n`);
    hub.close();
    stranger.close();
    await receiver.close();
  }
});
