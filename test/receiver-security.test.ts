// The event API as a browser endpoint (SPEC 4): CORS preflights answered before the token check, the
// token on every route however its path is spelled, /metrics behind the token, HTTPS with the
// configured certificate (and one-line errors for a bad one), the client IP behind a reverse proxy,
// and the Audit.qs version counted and warned about — never refused.
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Agent, request } from 'undici';
import { loadReceiverTls } from '../client/receiver/tls';
import { parseConfig } from '../common/config';
import { runCli } from './helpers/cli';
import { screenshotEvent } from '../demo/sample-events';
import { startTestbed, type Testbed } from './helpers/screenshot-testbed';
import { devServer } from './helpers/temporal';
import { receiverFor } from './helpers/receiver';

const TOKEN = 'a-long-random-token';
const HUB = 'https://qlik.example.com';

let bed: Testbed;

/** The receiver on this file's testbed, with these eventApi settings. */
const receiverWith = (eventApi: object, tls = false) => receiverFor(bed, eventApi, { tls });

/** A request with the path exactly as written (fetch would normalise it). */
function raw(port: number, method: string, rawPath: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: rawPath, headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.once('error', reject);
    req.end(body);
  });
}

async function workflowExists(workflowId: string): Promise<boolean> {
  const env = await devServer();
  try {
    await env.client.workflow.getHandle(workflowId).describe();
    return true;
  } catch {
    return false;
  }
}

test('setup', async () => {
  bed = await startTestbed(await devServer());
});

test('CORS: a preflight from the hub is answered without a token; other origins get no CORS header at all', async () => {
  const r = await receiverWith({ apiToken: TOKEN, cors: { allowedOrigins: [HUB, 'https://other-hub.example.com:8443'] } });
  const preflight = (origin: string) =>
    raw(r.port, 'OPTIONS', '/api/v1/audit-event', { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-audit-qs-version' });
  const ok = await preflight(HUB);
  assert.equal(ok.status, 204);
  assert.equal(ok.headers['access-control-allow-origin'], HUB);
  assert.match(String(ok.headers['access-control-allow-methods']), /POST/);
  assert.match(String(ok.headers['access-control-allow-headers']), /Authorization/);
  assert.match(String(ok.headers['access-control-allow-headers']), /Content-Type/);
  assert.match(String(ok.headers['access-control-allow-headers']), /X-Audit-QS-Version/);
  assert.equal((await preflight('https://other-hub.example.com:8443')).headers['access-control-allow-origin'], 'https://other-hub.example.com:8443');

  for (const origin of ['https://evil.example.com', 'https://qlik.example.com.evil.com', 'http://qlik.example.com', 'null']) {
    const refused = await preflight(origin);
    assert.notEqual(refused.status, 204, origin);
    assert.deepEqual(Object.keys(refused.headers).filter((h) => h.startsWith('access-control-')), [], `${origin}: no CORS headers`);
  }

  // The real POST carries the CORS header too, so the page can read a 202 — and a 401.
  const event = screenshotEvent(bed.qlik.url('/tempcontent/cors-1.png'), 'LAB\\cors');
  const accepted = await raw(r.port, 'POST', '/api/v1/audit-event', { origin: HUB, authorization: `Bearer ${TOKEN}` }, JSON.stringify(event));
  assert.equal(accepted.status, 202);
  assert.equal(accepted.headers['access-control-allow-origin'], HUB);
  const unauthorized = await raw(r.port, 'POST', '/api/v1/audit-event', { origin: HUB }, JSON.stringify(screenshotEvent(bed.qlik.url('/x.png'))));
  assert.equal(unauthorized.status, 401);
  assert.equal(unauthorized.headers['access-control-allow-origin'], HUB);
  await r.app.close();

  const any = await receiverWith({ cors: { allowedOrigins: ['*'] } });
  assert.equal((await raw(any.port, 'OPTIONS', '/api/v1/audit-event', { origin: 'https://anywhere.example', 'access-control-request-method': 'POST' })).headers['access-control-allow-origin'], '*');
  await any.app.close();
  const off = await receiverWith({ cors: { allowedOrigins: [] } });
  const noCors = await raw(off.port, 'OPTIONS', '/api/v1/audit-event', { origin: HUB, 'access-control-request-method': 'POST' });
  assert.equal(noCors.headers['access-control-allow-origin'], undefined, 'CORS off');
  await off.app.close();
});

test('the token guards every path the router serves, however it is spelled; /metrics too', async () => {
  const r = await receiverWith({ apiToken: TOKEN });
  const spellings = [
    '/api/v1/audit-event', '/%61pi/v1/audit-event', '/api/v1/%61udit-event', '/%2561pi/v1/audit-event', '//api/v1/audit-event', '/api//v1/audit-event',
    '/api/v1/audit-event/', '/API/V1/AUDIT-EVENT', '/api/v1/audit-event?x=1', '/api/v1/audit-event%2F', '/api/v1/./audit-event', '/api/v1/x/../audit-event',
    '/api/v1/audit-event;x', '/api/v1/audit-event#x', '/api/v1/audit%2Devent', '/api/v1/audit-event%00', '/./api/v1/audit-event',
  ];
  for (const spelling of spellings) {
    const event = screenshotEvent(bed.qlik.url('/tempcontent/spelling.png'), 'LAB\\spelling');
    const answer = await raw(r.port, 'POST', spelling, {}, JSON.stringify(event));
    assert.ok(answer.status === 401 || answer.status === 404 || answer.status === 400, `${spelling} without a token: ${answer.status} ${answer.body}`);
    assert.equal(await workflowExists(`screenshot-${event.eventId}`), false, `${spelling}: no workflow without the token`);
    const wrong = await raw(r.port, 'POST', spelling, { authorization: 'Bearer wrong' }, JSON.stringify(event));
    assert.notEqual(wrong.status, 202, `${spelling} with a wrong token`);
  }
  // The router decodes %61 to a; with the token, that is the event route, as for Butler SOS.
  const event = screenshotEvent(bed.qlik.url('/tempcontent/spelling-ok.png'), 'LAB\\spelling');
  assert.equal((await raw(r.port, 'POST', '/%61pi/v1/audit-event', { authorization: `Bearer ${TOKEN}` }, JSON.stringify(event))).status, 202);

  for (const [method, p] of [['GET', '/metrics'], ['HEAD', '/metrics'], ['GET', '/%6detrics'], ['GET', '/api/v1/test-connection'], ['HEAD', '/api/v1/test-connection'], ['GET', '/%61pi/v1/test-connection']] as const) {
    assert.equal((await raw(r.port, method, p)).status, 401, `${method} ${p} without the token`);
  }
  const metrics = await raw(r.port, 'GET', '/metrics', { authorization: `Bearer ${TOKEN}` });
  assert.equal(metrics.status, 200);
  assert.match(metrics.body, /qlik_audit_receiver_events_total/);
  await r.app.close();
});

test('HTTPS: the configured certificate is served and trusted through its CA; a bad certificate is one line at start', async () => {
  const pki = bed.config.qlik.cert; // the simulated Qlik's PKI: server.pem is valid for 127.0.0.1
  const dir = path.dirname(pki.clientCertCA);
  const r = await receiverWith({ tls: { enable: true, cert: path.join(dir, 'server.pem'), key: path.join(dir, 'server_key.pem'), ca: pki.clientCertCA } }, true);
  const trusting = new Agent({ connect: { ca: await import('node:fs').then((fs) => fs.readFileSync(pki.clientCertCA)) } });
  const event = screenshotEvent(bed.qlik.url('/tempcontent/tls-1.png'), 'LAB\\tls');
  const answer = await request(`${r.base}/api/v1/audit-event`, { method: 'POST', dispatcher: trusting, headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
  assert.equal(answer.statusCode, 202);
  await answer.body.dump();
  await assert.rejects(request(`${r.base}/api/v1/test-connection`, { dispatcher: new Agent() }), /self.signed|unable to verify|certificate/i, 'a client that does not trust the CA refuses');
  await r.app.close();
  await trusting.close();

  // Start-up errors: one line naming the key and the file.
  const work = mkdtempSync(path.join(tmpdir(), 'qa-tls-'));
  const encrypted = path.join(work, 'encrypted_key.pem');
  writeFileSync(encrypted, createPrivateKey(await import('node:fs').then((fs) => fs.readFileSync(path.join(dir, 'server_key.pem')))).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'right' }));
  const cases: [object, RegExp][] = [
    [{ cert: path.join(work, 'missing.pem'), key: path.join(dir, 'server_key.pem') }, /eventApi\.tls\.cert: cannot read .*missing\.pem \(ENOENT\)/],
    [{ cert: path.join(dir, 'server.pem'), key: pki.clientCertKey }, /eventApi\.tls\.key .*client_key\.pem does not belong to the certificate/],
    [{ cert: path.join(dir, 'server.pem'), key: encrypted, passphrase: 'wrong' }, /eventApi\.tls\.passphrase does not decrypt/],
    [{ cert: path.join(dir, 'server.pem'), key: encrypted }, /encrypted_key\.pem is encrypted: set eventApi\.tls\.passphrase/],
    [{ cert: pki.clientCertKey, key: path.join(dir, 'server_key.pem') }, /eventApi\.tls\.cert: .* is not a PEM certificate/],
  ];
  for (const [tls, message] of cases) {
    const config = parseConfig({ eventApi: { tls: { enable: true, ...tls } } }, { source: 'test', baseDir: work });
    assert.throws(() => loadReceiverTls(config), message);
  }
  const withPassphrase = parseConfig({ eventApi: { tls: { enable: true, cert: path.join(dir, 'server.pem'), key: encrypted, passphrase: 'right' } } }, { source: 'test', baseDir: work });
  assert.match(loadReceiverTls(withPassphrase)?.subject ?? '', /qlik-sim/);

  const configFile = path.join(work, 'config.yaml');
  writeFileSync(configFile, `eventApi:\n  tls: { enable: true, cert: server.pem, key: server_key.pem }\n`);
  const cli = await runCli(['receiver', '--config', configFile]);
  assert.equal(cli.status, 2);
  assert.equal(cli.stderr.trim().split('\n').length, 1, cli.stderr);
  assert.match(cli.stderr, /eventApi\.tls\.cert: cannot read .*server\.pem \(ENOENT\)/, 'relative to the config file');
});

test('behind a reverse proxy (trustProxy), the rate limit counts each client IP; the 429 names the limit', async () => {
  const event = () => JSON.stringify({ ...screenshotEvent('https://127.0.0.1/x.png'), type: 'navigation.sheet.loaded', payload: {} });
  const proxied = await receiverWith({ rateLimitPerMinute: 2, trustProxy: ['127.0.0.1'] });
  const from = (ip: string) => raw(proxied.port, 'POST', '/api/v1/audit-event', { 'x-forwarded-for': ip }, event());
  assert.deepEqual([(await from('10.0.0.1')).status, (await from('10.0.0.1')).status], [202, 202]);
  const limited = await from('10.0.0.1');
  assert.equal(limited.status, 429);
  assert.match(JSON.parse(limited.body).error, /at most 2 requests per minute per client IP \(eventApi\.rateLimit\.maxPerMinute\); 10\.0\.0\.1/);
  assert.equal((await from('10.0.0.2')).status, 202, 'another user behind the same proxy');
  await proxied.app.close();

  const direct = await receiverWith({ rateLimitPerMinute: 2 }); // trustProxy off: X-Forwarded-For is not believed
  const spoof = (ip: string) => raw(direct.port, 'POST', '/api/v1/audit-event', { 'x-forwarded-for': ip }, event());
  assert.deepEqual([(await spoof('10.0.0.1')).status, (await spoof('10.0.0.2')).status, (await spoof('10.0.0.3')).status], [202, 202, 429]);
  await direct.app.close();

  // A proxy is configured, but this client reaches the port directly and forges the header: not believed.
  const elsewhere = await receiverWith({ rateLimitPerMinute: 2, trustProxy: ['10.9.9.9'] });
  const forged = (ip: string) => raw(elsewhere.port, 'POST', '/api/v1/audit-event', { 'x-forwarded-for': ip }, event());
  assert.deepEqual([(await forged('10.0.0.1')).status, (await forged('10.0.0.2')).status, (await forged('10.0.0.3')).status], [202, 202, 429]);
  // /metrics is rate-limited too (guessing the token there is as slow as anywhere).
  const metricsGuess = await Promise.all([1, 2, 3].map(() => raw(elsewhere.port, 'GET', '/metrics')));
  assert.deepEqual(metricsGuess.map((r) => r.status), [429, 429, 429], 'the same client IP, over its limit');
  await elsewhere.app.close();
});

test('slow clients: a body trickled byte by byte is cut off within seconds, and 200 idle sockets do not stop a normal client', async () => {
  const r = await receiverWith({ rateLimitPerMinute: 10_000 });
  const event = JSON.stringify({ ...screenshotEvent('https://127.0.0.1/x.png'), type: 'navigation.sheet.loaded', payload: {} });
  const { connect } = await import('node:net');
  const sockets = Array.from({ length: 200 }, (_, i) => {
    const socket = connect(r.port, '127.0.0.1');
    socket.on('error', () => undefined);
    // Half the sockets send headers and then nothing; half send nothing at all.
    if (i % 2 === 0) socket.write(`POST /api/v1/audit-event HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${event.length}\r\n\r\n{`);
    return socket;
  });
  const started = Date.now();
  const normal = await raw(r.port, 'POST', '/api/v1/audit-event', {}, event);
  assert.equal(normal.status, 202);
  // Under the 5 s headers timeout: a client queued behind the idle sockets would wait that long.
  assert.ok(Date.now() - started < 4000, `a normal client is answered at once (${Date.now() - started} ms)`);

  // One byte a second: the request must be complete within the request timeout, else it is cut off.
  const trickle = connect(r.port, '127.0.0.1');
  const closed = new Promise<{ after: number; answer: string }>((resolve) => {
    let answer = '';
    trickle.on('data', (d) => (answer += d));
    trickle.on('error', () => undefined);
    trickle.on('close', () => resolve({ after: Date.now() - began, answer }));
  });
  const began = Date.now();
  trickle.write(`POST /api/v1/audit-event HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${event.length}\r\n\r\n`);
  const drip = setInterval(() => trickle.writable && trickle.write(' '), 1000);
  const { after, answer } = await closed;
  clearInterval(drip);
  assert.ok(after < 13_000, `cut off after ${after} ms`);
  assert.match(answer, /^HTTP\/1\.1 408/, 'answered 408 Request Timeout before the socket is closed');
  for (const socket of sockets) socket.destroy();
  await r.app.close();
});

test('a body that is not JSON is a 400 naming the content type to send', async () => {
  const r = await receiverWith({});
  const xml = await raw(r.port, 'POST', '/api/v1/audit-event', { 'content-type': 'application/xml' }, '<event/>');
  assert.equal(xml.status, 400);
  assert.deepEqual({ ...JSON.parse(xml.body), receivedAt: undefined }, { status: 'error', receivedAt: undefined, outcome: 'dropped', reason: 'Schema validation failed', error: 'the body must be JSON: send Content-Type: application/json' });
  // text/plain is read as text (as Butler SOS's Fastify does): not an object, so a 400 naming the body.
  const plain = await raw(r.port, 'POST', '/api/v1/audit-event', { 'content-type': 'text/plain' }, 'hello');
  assert.equal(plain.status, 400);
  assert.deepEqual(JSON.parse(plain.body).fields, ['(body)']);
  await r.app.close();
});

test('the Audit.qs version handshake as Butler SOS does it: 422 outside the range, the header first (its first value), none accepted with a warning per IP a minute', async () => {
  const r = await receiverWith({});
  const event = (source?: object) => JSON.stringify({ ...screenshotEvent('https://127.0.0.1/x.png'), type: 'navigation.sheet.loaded', source, payload: {} });
  const post = (headers: Record<string, string | string[]>, source?: object) => raw(r.port, 'POST', '/api/v1/audit-event', headers as Record<string, string>, event(source));
  const audit = (version: string) => ({ kind: 'qlik-sense-extension', name: 'audit-qs', version });

  assert.equal((await post({ 'x-audit-qs-version': '0.3.0' })).status, 202);
  assert.equal((await post({}, audit('0.4.2'))).status, 202, 'no header: source.version');
  const old = await post({ 'x-audit-qs-version': '0.2.0' }, audit('0.4.0'));
  assert.equal(old.status, 422, 'the header wins over source.version');
  const body = JSON.parse(old.body);
  assert.deepEqual({ ...body, receivedAt: undefined, eventId: undefined }, {
    status: 'error',
    receivedAt: undefined,
    outcome: 'dropped',
    reason: 'Incompatible Audit.qs version',
    details: { butlerSosVersion: body.details.butlerSosVersion, auditQsVersion: '0.2.0', compatible: false, compatibleAuditQsVersions: '>=0.3.0 <0.5.0', message: body.details.message },
    error: `${body.details.message} (eventApi.compatibleAuditQsVersions)`,
    eventId: undefined,
    fields: ['source.version'],
  });
  assert.match(body.details.message, /^qlik-audit \d+\.\d+\.\d+ is not compatible with Audit\.qs 0\.2\.0\. Compatible Audit\.qs versions: >=0\.3\.0 <0\.5\.0\.$/);
  assert.equal((await post({ 'x-audit-qs-version': ['0.3.0', '0.2.0'] })).status, 202, 'a header sent twice counts by its first value');
  assert.equal((await post({ 'x-audit-qs-version': '0.5.0' })).status, 422);
  assert.equal((await post({ 'x-audit-qs-version': '0.5.0-rc.1' })).status, 422, 'a pre-release');
  const invalid = await post({ 'x-audit-qs-version': '0.5' });
  assert.deepEqual([invalid.status, JSON.parse(invalid.body).details.message], [422, 'Invalid Audit.qs version format: "0.5".']);

  // No version at all: accepted, and warned about once a minute per client IP.
  for (let i = 0; i < 3; i++) assert.equal((await post({})).status, 202);
  const warnings = r.logs.filter((l) => l.level === 'warn' && /without version info/.test(String(l.msg)));
  assert.equal(warnings.length, 1, 'one warning per IP per minute');
  assert.equal(warnings[0]?.missingVersionCount, 1);

  // Audit.qs's "Test connection" learns whether its version is taken.
  const test = async (version?: string) => JSON.parse((await raw(r.port, 'GET', '/api/v1/test-connection', version ? { 'x-audit-qs-version': version } : {})).body);
  const ok = await test('0.3.0');
  assert.deepEqual([ok.status, ok.auditQsVersion, ok.compatible, ok.service], ['ok', '0.3.0', true, 'qlik-audit']);
  assert.match(ok.butlerSosVersion, /^qlik-audit \d+\.\d+\.\d+$/);
  assert.ok(Math.abs(Date.parse(ok.timestamp) - Date.now()) < 60_000);
  assert.deepEqual([(await test('0.2.0')).compatible, (await test()).compatible, (await test()).auditQsVersion], [false, false, null]);

  const metrics = await (await fetch(`${r.base}/metrics`)).text();
  assert.match(metrics, /qlik_audit_receiver_audit_qs_version_total\{version="0\.2\.0"\} 1/);
  assert.match(metrics, /qlik_audit_receiver_audit_qs_version_total\{version="unknown"\} 3/);
  assert.match(metrics, /qlik_audit_receiver_audit_qs_version_total\{version="invalid"\} 1/);
  await r.app.close();

  // A newer Audit.qs release is let in by configuration.
  const newer = await receiverWith({ compatibleAuditQsVersions: '>=0.3.0 <0.6.0' });
  assert.equal((await raw(newer.port, 'POST', '/api/v1/audit-event', { 'x-audit-qs-version': '0.5.0' }, event())).status, 202);
  await newer.app.close();
});

test('every answer is Butler SOS’s — status, receivedAt, outcome, reason, details — with ours beside it', async () => {
  const r = await receiverWith({ apiToken: TOKEN, rateLimit: { maxPerMinute: 6 } });
  const auth = { authorization: `Bearer ${TOKEN}` };
  const good = { ...screenshotEvent('https://127.0.0.1/x.png'), type: 'navigation.sheet.loaded', payload: {} };
  const send = async (headers: Record<string, string>, body: unknown) => {
    const res = await raw(r.port, 'POST', '/api/v1/audit-event', headers, typeof body === 'string' ? body : JSON.stringify(body));
    const parsed = JSON.parse(res.body);
    assert.ok(Math.abs(Date.parse(parsed.receivedAt) - Date.now()) < 60_000, 'receivedAt on every answer');
    return { code: res.status, status: parsed.status, outcome: parsed.outcome, reason: parsed.reason, details: parsed.details, fields: parsed.fields };
  };
  const cases: [string, Record<string, string>, unknown, object][] = [
    ['accepted', auth, good, { code: 202, status: 'accepted', outcome: 'processed' }],
    ['no token', {}, good, { code: 401, status: 'error', outcome: 'dropped', reason: 'Unauthorized' }],
    ['shape', auth, { ...good, type: undefined }, { code: 400, status: 'error', outcome: 'dropped', reason: 'Schema validation failed', fields: ['type'] }],
    ['constraint', auth, { ...good, eventId: 'not-a-uuid' }, { code: 422, status: 'error', outcome: 'dropped', reason: 'One or more constraint violations' }],
    ['payload rule', auth, { ...screenshotEvent('javascript:alert(1)') }, { code: 422, status: 'error', outcome: 'dropped', reason: 'Payload validation failed' }],
  ];
  for (const [name, headers, body, expected] of cases) {
    const got = await send(headers, body);
    const picked = Object.fromEntries(Object.keys(expected).map((k) => [k, got[k as keyof typeof got]]));
    assert.deepEqual(picked, expected, name);
    if (name === 'shape') assert.equal(got.details.errors[0].instancePath, '/type', 'details.errors as Butler SOS lists them');
  }
  let limited;
  for (let i = 0; i < 6 && limited?.code !== 429; i++) limited = await send(auth, good);
  assert.deepEqual([limited?.code, limited?.status, limited?.outcome, limited?.reason], [429, 'error', 'dropped', 'Rate limit exceeded']);
  await r.app.close();
  const unlimited = await receiverWith({ rateLimit: { enable: false } });
  for (let i = 0; i < 3; i++) assert.equal((await raw(unlimited.port, 'POST', '/api/v1/audit-event', {}, JSON.stringify(good))).headers['x-ratelimit-limit'], undefined);
  await unlimited.app.close();
});

test('config: CORS origins and trusted proxies are checked at load, naming the entry', () => {
  const load = (eventApi: object) => parseConfig({ eventApi }, { source: 'test.yaml', baseDir: '/' });
  assert.deepEqual(load({ cors: { allowedOrigins: ['https://Qlik.Example.com/', 'http://hub:8080', '*'] } }).eventApi.cors.allowedOrigins, ['https://qlik.example.com', 'http://hub:8080', '*']);
  assert.deepEqual(load({ cors: { allowedOrigins: null } }).eventApi.cors.allowedOrigins, []);
  assert.throws(() => load({ cors: { allowedOrigins: ['qlik.example.com'] } }), /eventApi\.cors\.allowedOrigins\[0\]: 'qlik\.example\.com' is not an origin: write the hub's scheme and host/);
  assert.throws(() => load({ cors: { allowedOrigins: ['https://qlik.example.com/hub'] } }), /allowedOrigins\[0\]: 'https:\/\/qlik\.example\.com\/hub' is not an origin/);
  assert.deepEqual(load({ trustProxy: '10.0.0.0/8, 192.168.1.7' }).eventApi.trustProxy, ['10.0.0.0/8', '192.168.1.7']);
  for (const anyone of [2, true]) {
    assert.throws(() => load({ trustProxy: anyone }), /eventApi\.trustProxy: (2|true) believes X-Forwarded-For from anyone who reaches the receiver's port, so a client picks its own IP and is never rate limited: list the proxy's addresses or CIDR ranges instead/);
  }
  assert.equal(load({}).eventApi.trustProxy, false);
  assert.throws(() => load({ trustProxy: ['10.0.0.0/33'] }), /eventApi\.trustProxy: '10\.0\.0\.0\/33' is not an IP address or CIDR range/);
  assert.throws(() => load({ tls: { enable: true } }), /eventApi\.tls: enable is true: set cert and key/);
});
