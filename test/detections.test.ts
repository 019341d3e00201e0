// Detections and alerts (SPEC 7), with real receivers started here: an HTTPS webhook that checks the
// signature, a TLS syslog listener that parses RFC 5424 in RFC 5425 frames, an SMTP server with
// STARTTLS (smtp-server). Generated AuditSecurity files — six failed logins in two minutes, an
// INTERNAL\sa_ account from a remote address, a file with a broken row — go through a real worker:
// ingest, then the detection workflow; every alert arrives once at each sink; a second run sends
// nothing; a sink that is down gets its alert when it is back, once; quiet data raises nothing.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { startDetectionNow } from '../client/detection-schedule';
import type { Config } from '../common/config';
import type { DetectionResult } from '../common/detection-types';
import { createPki } from '../demo/simulated-qlik/pki';
import { detectNew, listAlerts } from '../store/detections';
import { ingestChain } from '../store/ingest-chain';
import { buildChains, discoverLogFiles } from '../audit-log/log-files';
import { openStore, type AuditStore } from '../store/store';
import { timeline } from '../store/timeline';
import { verifyStore } from '../store/verify-store';
import { securityFile, securityRow, withValidChecksum } from './helpers/audit-log-factory';
import { runCli } from './helpers/cli';
import { freePort } from './helpers/ports';
import { scratchStoreUrl } from './helpers/postgres';
import { ingestBed } from './helpers/ingest-bed';
import type { devServer } from './helpers/temporal';
import { until } from './helpers/until';

const SECRET = 'shared webhook secret';
const at = (minute: number, second = 0) => new Date(Date.UTC(2026, 11, 1, 10, minute, second));

interface Received {
  webhook: { id: string; rule: string; key: string; count: number; evidence: unknown[] }[];
  syslog: string[];
  mail: { secure: boolean; text: string }[];
}
const received: Received = { webhook: [], syslog: [], mail: [] };
let badSignatures = 0;

const dir = mkdtempSync(path.join(tmpdir(), 'qa-detect-'));
const pki = createPki(path.join(dir, 'pki'));
const pem = (name: string, text: string) => (writeFileSync(path.join(dir, name), text), path.join(dir, name));
const caFile = pem('ca.pem', pki.caCert);

let webhookPort = 0;
let webhook: https.Server | undefined;
function startWebhook(): Promise<void> {
  webhook = https.createServer({ cert: pki.serverCert, key: pki.serverKey }, (req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const expected = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
      if (req.headers['x-qlik-audit-signature'] !== expected) {
        badSignatures++;
        res.writeHead(401).end('bad signature');
        return;
      }
      received.webhook.push(JSON.parse(body));
      res.writeHead(200).end('ok');
    });
  });
  return new Promise((resolve) => webhook?.listen(webhookPort, '127.0.0.1', () => ((webhookPort = (webhook?.address() as AddressInfo).port), resolve())));
}
const stopWebhook = () => new Promise<void>((resolve) => (webhook?.closeAllConnections(), webhook?.close(() => resolve())));

let syslogPort = 0;
let smtpPort = 0;
const newSyslog = () => tls.createServer({ cert: pki.serverCert, key: pki.serverKey }, (socket) => {
  let buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    // RFC 5425 octet counting: "<length in octets> <message>".
    for (let m = /^(\d+) /.exec(buffer.toString('latin1', 0, 12)); m && buffer.length >= m[0].length + Number(m[1]); m = /^(\d+) /.exec(buffer.toString('latin1', 0, 12))) {
      received.syslog.push(buffer.subarray(m[0].length, m[0].length + Number(m[1])).toString('utf8'));
      buffer = buffer.subarray(m[0].length + Number(m[1]));
    }
  });
});
let syslog = newSyslog();
const newSmtp = () => new SMTPServer({
  key: pki.serverKey,
  cert: pki.serverCert,
  authOptional: true,
  disabledCommands: ['AUTH'],
  logger: false,
  onData(stream, session, callback) {
    let text = '';
    stream.on('data', (c: Buffer) => (text += c.toString('utf8')));
    stream.on('end', () => {
      received.mail.push({ secure: session.secure, text });
      callback();
    });
  },
});
let smtp = newSmtp();
const listen = (server: { listen(port: number, host: string, cb: () => void): unknown }, port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
/** Every sink down (connections refused), or up again on the same ports. */
async function sinksDown(): Promise<void> {
  await stopWebhook();
  await new Promise<void>((resolve) => syslog.close(() => resolve()));
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
}
async function sinksUp(): Promise<void> {
  await startWebhook();
  syslog = newSyslog();
  await listen(syslog, syslogPort);
  smtp = newSmtp();
  await listen(smtp, smtpPort);
}

let store: AuditStore;
let config: Config;
let taskQueue: string;
let client: Awaited<ReturnType<typeof devServer>>['client'];
let ingest: Awaited<ReturnType<typeof ingestBed>>['ingest'];
const sources = path.join(dir, 'logs');
const live = path.join(sources, 'QLIKSERVER9_AuditSecurity_Proxy.txt');

before(async () => {
  await startWebhook();
  await listen(syslog, 0);
  syslogPort = (syslog.address() as AddressInfo).port;
  smtpPort = await freePort();
  await listen(smtp, smtpPort);
  mkdirSync(sources, { recursive: true });
  // Six failed logins of DOMAIN\mallory from one address in two minutes, between ordinary rows; an
  // INTERNAL service account from a remote address.
  const rows: string[] = [];
  let seq = 1;
  rows.push(securityRow(seq++, at(0), { user: 'anna', command: 'Login', result: '0', address: '[::ffff:10.1.2.50]:50000' }));
  for (let i = 0; i < 6; i++) rows.push(securityRow(seq++, at(1, i * 20), { user: 'mallory', command: 'Login', result: '401', message: 'Login failed: wrong password', address: `[::ffff:10.1.2.3]:${51000 + i}` }));
  rows.push(securityRow(seq++, at(4), { directory: 'INTERNAL', user: 'sa_repository', command: 'Login', result: '0', address: '[::ffff:203.0.113.9]:443' }));
  rows.push(securityRow(seq++, at(5), { user: 'anna', command: 'Check access', result: '0', object: 'Sales Analysis' }));
  writeFileSync(live, securityFile(rows));
  // Another node's log, with a row edited after Qlik wrote it (its checksum no longer holds).
  const edited = [securityRow(1, at(2), { user: 'bob' }), securityRow(2, at(3), { user: 'bob' }).replace('bob', 'eve')];
  writeFileSync(path.join(sources, 'QLIKSERVER8_AuditSecurity_Repository.txt'), securityFile(edited));

  const smtpConfig = { host: '127.0.0.1', port: smtpPort, starttls: true, ca: caFile };
  const bed = await ingestBed(scratchStoreUrl(), sources, {}, {
    detections: { suppressionMinutes: 60 },
    alerts: {
      sinks: [
        { name: 'soc', type: 'webhook', url: `https://127.0.0.1:${webhookPort}/hook`, secret: SECRET, ca: caFile },
        { name: 'siem', type: 'syslog', host: '127.0.0.1', port: syslogPort, tls: { ca: caFile } },
        { name: 'mail', type: 'email', from: 'qlik-audit@example.com', to: ['soc@example.com'], smtp: smtpConfig },
      ],
    },
  });
  ({ config, taskQueue, store, ingest } = bed);
  client = bed.env.client;
});

after(async () => {
  await sinksDown();
});

const detect = async (): Promise<DetectionResult> => (await startDetectionNow(client, taskQueue)).result();

/** Waits until every sink has `n` alerts (or 60 s), then a little longer to see that no more come. */
async function arrived(n: number): Promise<Received> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && (received.webhook.length < n || received.syslog.length < n || received.mail.length < n)) await new Promise((r) => setTimeout(r, 200));
  await new Promise((r) => setTimeout(r, 1500));
  return received;
}

test('failed logins, a service account from afar and an edited row: each alert stored under the chain, and sent once to each sink', async () => {
  await ingest();
  const run = await detect();
  const rules = run.alerts.map((a) => a.rule).sort();
  assert.deepEqual(rules, ['failedLogins', 'failedLogins', 'integrity', 'serviceAccountRemote'], JSON.stringify(run.alerts));
  const stored = await listAlerts(store);
  const keys = stored.map((a) => `${a.rule}: ${a.key}`).sort();
  assert.deepEqual(keys.filter((k) => !k.startsWith('integrity')), ['failedLogins: address 10.1.2.3', 'failedLogins: user DOMAIN\\mallory', 'serviceAccountRemote: INTERNAL\\sa_repository from 203.0.113.9']);
  assert.ok(keys.some((k) => /^integrity: .* in QLIKSERVER8\/Repository\/QLIKSERVER8_AuditSecurity_Repository\.txt$/.test(k)), keys.join('\n'));
  const logins = stored.find((a) => a.key === 'user DOMAIN\\mallory');
  assert.equal(logins?.count, 5, 'the window that crossed the threshold: 5 failed logins');
  assert.equal(logins?.evidence.length, 5);
  assert.equal(logins?.firstSeen, at(1, 0).toISOString());
  // In mallory's timeline, as source alert.
  const trail = [];
  for await (const e of timeline(store, { userDirectory: 'DOMAIN', userId: 'mallory' })) trail.push(e);
  assert.ok(trail.some((e) => e.source === 'alert' && e.type === 'failedLogins'));
  // Under the digest chain: the store verifies with them in it.
  assert.equal((await verifyStore(store, {})).ok, true);

  const got = await arrived(4);
  assert.equal(badSignatures, 0);
  const ids = stored.map((a) => a.id).sort();
  assert.deepEqual(got.webhook.map((a) => a.id).sort(), ids, 'each alert once at the webhook, signed');
  // <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] BOM MSG (RFC 5424; the MSG is UTF-8, so it starts with a BOM).
  const parsed = got.syslog.map((m) => /^<(\d+)>1 (\S+) (\S+) qlik-audit (\d+) (\S+) (\[qlikaudit@32473 [^\]]*\]) \uFEFF(\{.*\})$/.exec(m));
  assert.ok(parsed.every(Boolean), `RFC 5424 messages: ${got.syslog.join('\n')}`);
  assert.deepEqual(parsed.map((m) => (JSON.parse(m?.[7] as string) as { id: string }).id).sort(), ids, 'each alert once at the SIEM');
  const critical = parsed.find((m) => m?.[5] === 'serviceAccountRemote');
  assert.equal(critical?.[1], String(13 * 8 + 2), 'facility log audit, severity critical');
  assert.equal(parsed.find((m) => m?.[5] === 'failedLogins')?.[1], String(13 * 8 + 3), 'high: error');
  assert.ok(parsed.every((m) => !Number.isNaN(Date.parse(m?.[2] ?? ''))), 'RFC 3339 timestamps');
  assert.equal(got.mail.length, 4, 'each alert once by e-mail');
  assert.ok(got.mail.every((m) => m.secure), 'over STARTTLS');
  assert.ok(got.mail.some((m) => /Subject: qlik-audit \[CRITICAL\] serviceAccountRemote/.test(m.text) && /alert\.json/.test(m.text)));
  // Each sink's acknowledgement is recorded after it answered: wait for the records, not a fixed time.
  let listed: string[] = [];
  await until(async () => (listed = (await listAlerts(store)).map((a) => a.deliveredTo.join(','))).every((d) => d === 'mail,siem,soc'), 30_000, 200);
  assert.ok(listed.every((d) => d === 'mail,siem,soc'), `every alert acknowledged by every sink: ${listed.join(' | ')}`);

  // A second run over the same store: nothing new, nothing sent.
  const again = await detect();
  assert.deepEqual(again.alerts, []);
  assert.equal(again.rows, 0);
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual([received.webhook.length, received.syslog.length, received.mail.length], [4, 4, 4]);
});

test('every sink down when an alert is raised: each gets it once it is back, once', async () => {
  await sinksDown();
  // Five more failed logins, an hour later (past the suppression period): a new alert.
  const rows = Array.from({ length: 5 }, (_, i) => securityRow(10 + i, new Date(at(1).getTime() + 3_700_000 + i * 10_000), { user: 'mallory', command: 'Login', result: '401', address: 'Not available' }));
  appendFileSync(live, `${rows.join('\r\n')}\r\n`);
  await ingest();
  const run = await detect();
  assert.deepEqual(run.alerts.map((a) => a.rule), ['failedLogins']);
  await new Promise((r) => setTimeout(r, 4000)); // a few refused attempts at each
  assert.deepEqual([received.webhook.length, received.syslog.length, received.mail.length], [4, 4, 4], 'nothing arrived while they were down');
  assert.deepEqual((await listAlerts(store))[0]?.deliveredTo, [], 'and nothing counts as acknowledged');
  await sinksUp();
  const got = await arrived(5);
  assert.deepEqual([got.webhook.length, got.syslog.length, got.mail.length], [5, 5, 5]);
  assert.equal(got.webhook.at(-1)?.id, run.alerts[0]?.id);
  assert.equal(new Set(got.webhook.map((a) => a.id)).size, 5, 'no alert twice');
  let delivered: string[] | undefined;
  await until(async () => (delivered = (await listAlerts(store))[0]?.deliveredTo)?.length === 3, 30_000, 200);
  assert.deepEqual(delivered, ['mail', 'siem', 'soc']);
});

test('alerts list and alerts test from the command line; quiet data raises nothing', async () => {
  const file = path.join(dir, 'config.yaml');
  writeFileSync(
    file,
    `temporal: { taskQueue: ${taskQueue} }\nauditSecurityLog: { sources: [ { directory: ${sources} } ], store: '${config.auditSecurityLog.store}' }\n` +
      `alerts:\n  sinks:\n    - { name: soc, type: webhook, url: 'https://127.0.0.1:${webhookPort}/hook', secret: '${SECRET}', ca: ${caFile} }\n    - { name: nowhere, type: syslog, host: 127.0.0.1, port: ${await freePort()}, tls: { ca: ${caFile} } }\n`,
  );
  const list = await runCli(['alerts', 'list', '--config', file, '--json']);
  assert.equal(list.status, 0, list.stderr);
  const lines = list.stdout.trim().split('\n').map((l) => JSON.parse(l) as { rule: string; deliveredTo: string[] });
  assert.equal(lines.length, 5);
  assert.deepEqual(Object.keys(lines[0] as object).sort(), ['count', 'createdAt', 'deliveredTo', 'evidence', 'firstSeen', 'id', 'key', 'lastSeen', 'rule', 'severity', 'summary']);
  const before = received.webhook.length;
  const sent = await runCli(['alerts', 'test', '--config', file, '--sink', 'soc']);
  assert.equal(sent.status, 0, sent.stderr);
  assert.equal(received.webhook.length, before + 1);
  assert.equal(received.webhook.at(-1)?.rule, 'test');
  const down = await runCli(['alerts', 'test', '--config', file, '--sink', 'nowhere']);
  assert.equal(down.status, 1);
  assert.match(down.stderr, /^qlik-audit alerts test: syslog nowhere \(127\.0\.0\.1:\d+\): ECONNREFUSED\n$/);
  assert.equal((await runCli(['alerts', 'test', '--config', file, '--sink', 'typo'])).status, 2);

  // Quiet data: ordinary logins and access checks only, in a store of its own.
  const quietDir = mkdtempSync(path.join(tmpdir(), 'qa-quiet-'));
  writeFileSync(path.join(quietDir, 'QLIKSERVER7_AuditSecurity_Proxy.txt'), securityFile(Array.from({ length: 200 }, (_, i) => securityRow(i + 1, new Date(at(0).getTime() + i * 1000), { user: `user${i % 7}`, command: i % 2 ? 'Login' : 'Check access', result: '0', address: `[::ffff:10.0.0.${i % 7}]:4000` }))));
  const quiet = await openStore(scratchStoreUrl());
  try {
    for (const chain of buildChains(await discoverLogFiles([quietDir]))) await ingestChain(quiet, chain, { runId: 'quiet', sequenceMax: 2147483647 });
    const run = await detectNew(quiet, { rules: config.detections.rules, suppressionMinutes: 60, key: undefined }, 'quiet');
    assert.equal(run.rows, 200);
    assert.deepEqual(run.alerts, []);
  } finally {
    await quiet.close();
  }
});

test('a file cut and rewritten by someone: the tampering is an integrity alert; more of it within the hour is suppressed', async () => {
  const before = received.webhook.length;
  const file = path.join(sources, 'QLIKSERVER6_AuditSecurity_Repository.txt');
  writeFileSync(file, securityFile([securityRow(1, at(30)), withValidChecksum(securityRow(3, at(31)))]));
  await ingest();
  const run = await detect();
  const raised = (await listAlerts(store)).filter((a) => run.alerts.some((r) => r.id === a.id));
  assert.ok(raised.some((a) => a.rule === 'integrity' && /QLIKSERVER6/.test(a.key)), JSON.stringify(raised));
  // The same gap again in new rows of the same file, minutes later: read, and suppressed.
  appendFileSync(file, `${[securityRow(4, at(32)), securityRow(6, at(33))].join('\r\n')}\r\n`);
  await ingest();
  const again = await detect();
  assert.ok(again.rows >= 2, `the new rows were read (${again.rows})`);
  assert.deepEqual(again.alerts, [], 'within the suppression period of the alert for this file and kind');
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && received.webhook.length < before + run.alerts.length) await new Promise((r) => setTimeout(r, 200));
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(received.webhook.length, before + run.alerts.length, 'once each');
});

test('a burst split across nodes whose rows arrive out of order is counted whole; access-denied bursts per user over many apps', async () => {
  const dirA = mkdtempSync(path.join(tmpdir(), 'qa-order-'));
  const lateStore = await openStore(scratchStoreUrl());
  const settings = { rules: config.detections.rules, suppressionMinutes: 60, key: undefined };
  const ingestDir = async (d: string) => {
    for (const chain of buildChains(await discoverLogFiles([d]))) await ingestChain(lateStore, chain, { runId: 'order', sequenceMax: 2147483647 });
  };
  try {
    // Node A's four failed logins of ivan (10:01–10:04) are read first: under the threshold of five.
    writeFileSync(path.join(dirA, 'QLIKSERVER41_AuditSecurity_Proxy.txt'), securityFile(Array.from({ length: 4 }, (_, i) => securityRow(i + 1, at(1 + i), { user: 'ivan', command: 'Login', result: '401' }))));
    await ingestDir(dirA);
    assert.deepEqual((await detectNew(lateStore, settings, 'a')).alerts, []);
    // Node B's, at 10:00, arrives a run later: five within five minutes, ending after it.
    const dirB = mkdtempSync(path.join(tmpdir(), 'qa-order-'));
    writeFileSync(path.join(dirB, 'QLIKSERVER42_AuditSecurity_Proxy.txt'), securityFile([securityRow(1, at(0), { user: 'ivan', command: 'Login', result: '401' })]));
    // Ten refused access checks of kim, each on another app.
    writeFileSync(path.join(dirB, 'QLIKSERVER43_AuditSecurity_Repository.txt'), securityFile(Array.from({ length: 10 }, (_, i) => securityRow(i + 1, at(10, i * 5), { user: 'kim', command: 'Check access', result: '403', object: `App ${i}`, service: 'Repository' }))));
    await ingestDir(dirB);
    const run = await detectNew(lateStore, settings, 'b');
    const alerts = await listAlerts(lateStore);
    assert.deepEqual(alerts.map((a) => `${a.rule} ${a.key} ${a.count}`).sort(), ['accessDenied user DOMAIN\\kim 10', 'failedLogins user DOMAIN\\ivan 5'], JSON.stringify(run.alerts));
    assert.equal(alerts.find((a) => a.rule === 'failedLogins')?.firstSeen, at(0).toISOString());
  } finally {
    await lateStore.close();
  }
});

test('a user signing in from an address not seen before raises newClientAddress once learned; in the learning period nothing, and a known address never', async () => {
  const dirs = [0, 1, 2].map(() => mkdtempSync(path.join(tmpdir(), 'qa-addr-')));
  const addrStore = await openStore(scratchStoreUrl());
  const rules = { ...config.detections.rules, newClientAddress: { enable: true, learningDays: 14, severity: 'low' as const } };
  const settings = { rules, suppressionMinutes: 60, key: undefined };
  const ingestDir = async (d: string) => {
    for (const chain of buildChains(await discoverLogFiles([d]))) await ingestChain(addrStore, chain, { runId: 'addr', sequenceMax: 2147483647 });
  };
  const day = (n: number) => new Date(Date.UTC(2026, 10, 1 + n, 9));
  const login = (seq: number, when: Date, user: string, address: string) => securityRow(seq, when, { user, command: 'Login', result: '0', address: `[::ffff:${address}]:50000` });
  try {
    // Day 0: lea from her desk, and from a second address on day 3 (still learning): nothing.
    writeFileSync(path.join(dirs[0] as string, 'QLIKSERVER61_AuditSecurity_Proxy.txt'), securityFile([login(1, day(0), 'lea', '10.1.0.5'), login(2, day(3), 'lea', '10.1.0.6')]));
    await ingestDir(dirs[0] as string);
    assert.deepEqual((await detectNew(addrStore, settings, 'learn')).alerts, []);
    // Day 20: lea from her desk again (known), from an address never seen (alert), and max, new to the site, from anywhere (learning).
    writeFileSync(path.join(dirs[1] as string, 'QLIKSERVER62_AuditSecurity_Proxy.txt'), securityFile([login(1, day(20), 'lea', '10.1.0.5'), login(2, day(20), 'lea', '198.51.100.7'), login(3, day(20), 'max', '198.51.100.8')]));
    await ingestDir(dirs[1] as string);
    const run = await detectNew(addrStore, settings, 'later');
    const alerts = await listAlerts(addrStore);
    assert.deepEqual(alerts.map((a) => `${a.rule} ${a.key} ${a.severity}`), ['newClientAddress DOMAIN\\lea from 198.51.100.7 low'], JSON.stringify(run.alerts));
    // The same address again a day later: known now, nothing.
    writeFileSync(path.join(dirs[2] as string, 'QLIKSERVER63_AuditSecurity_Proxy.txt'), securityFile([login(1, day(21), 'lea', '198.51.100.7')]));
    await ingestDir(dirs[2] as string);
    assert.deepEqual((await detectNew(addrStore, settings, 'again')).alerts, []);
  } finally {
    await addrStore.close();
  }
});

test('a detection run that dies between slices resumes at its checkpoint: nothing missed, nothing twice; an edited alert is caught', async () => {
  const crashDir = mkdtempSync(path.join(tmpdir(), 'qa-crash-'));
  // Two bursts of failed logins an hour apart, each across two nodes: four chain entries.
  for (const [node, minute, from] of [[51, 0, 0], [52, 0, 30], [53, 70, 0], [54, 70, 30]] as const) {
    const rows = Array.from({ length: 3 }, (_, i) => securityRow(i + 1, at(minute, from + i * 10), { user: 'zed', command: 'Login', result: '401' }));
    writeFileSync(path.join(crashDir, `QLIKSERVER${node}_AuditSecurity_Proxy.txt`), securityFile(rows));
  }
  const crashStore = await openStore(scratchStoreUrl());
  try {
    for (const chain of buildChains(await discoverLogFiles([crashDir]))) await ingestChain(crashStore, chain, { runId: 'crash', sequenceMax: 2147483647, batchSize: 2 });
    const entries = Number((await crashStore.query<{ n: string }>('SELECT count(*) AS n FROM audit_batches')).rows[0]?.n);
    assert.ok(entries >= 3, `${entries} chain entries`);
    const settings = { rules: config.detections.rules, suppressionMinutes: 60, key: undefined, sliceRows: 3 };
    let committed = 0;
    await assert.rejects(
      detectNew(crashStore, settings, 'crash-1', (r) => {
        committed = r.rows;
        throw new Error('worker killed');
      }),
      /worker killed/,
    );
    const resumed = await detectNew(crashStore, settings, 'crash-2');
    assert.ok(committed > 0 && committed < 12);
    assert.equal(resumed.rows, 12 - committed, 'resumed after the committed slice: every row read once');
    const alerts = await listAlerts(crashStore);
    assert.deepEqual(alerts.map((a) => `${a.key} ${a.firstSeen}`).sort(), [`user DOMAIN\\zed ${at(0).toISOString()}`, `user DOMAIN\\zed ${at(70).toISOString()}`]);
    assert.equal((await verifyStore(crashStore, {})).ok, true);
    // Alerts are trail items under the chain: a database user who softens one is caught.
    await crashStore.query("UPDATE audit_alerts SET severity = 'low' WHERE id = (SELECT min(id) FROM audit_alerts)");
    const report = await verifyStore(crashStore, {});
    assert.ok(report.problems.some((p) => p.kind === 'trail-changed' && /alert/.test(p.detail)), JSON.stringify(report.problems));
  } finally {
    await crashStore.close();
  }
});
