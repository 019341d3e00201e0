// The demo behind `qlik-audit dev --demo`: the simulated Qlik Sense from the test suite (QPS and proxy
// over mutual TLS, with a CA and client certificate generated under ./var/demo-certs), a config that
// points at it, and sample Audit.qs events posted through the real event API — one per outcome.
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { buildChains, discoverLogFiles } from '../audit-log/log-files';
import { verifyChains } from '../audit-log/scanner';
import { openStore, StoreFormatError, type AuditStore } from '../store/store';
import type { IngestSummary } from '../common/ingest-types';
import type { Config } from '../common/config';
import { startDetectionNow, upsertDetectionSchedule } from '../client/detection-schedule';
import type { DetectionResult } from '../common/detection-types';
import { startIngestNow, upsertIngestSchedule } from '../client/ingest-schedule';
import type { ScreenshotResult } from '../common/screenshot-result';
import { createPki, type Pki } from './simulated-qlik/pki';
import { SimulatedQlik } from './simulated-qlik/simulated-qlik';
import { screenshotEvent, sessionEvents, withCrop } from './sample-events';
import { sheetObjectRender, VISIBLE_CROP } from './simulated-qlik/renders';
import { startDemoSiem, type DemoSiem } from './demo-siem';
import { stringify } from 'yaml';

/** What Audit.qs reports for the demo screenshot (fractions as a browser reports them): see VISIBLE_CROP. */
const DEMO_CROP = { ...VISIBLE_CROP, width: VISIBLE_CROP.width + 0.4, height: VISIBLE_CROP.height + 0.6 };

/** A user who appears in the shipped AuditSecurity logs: the demo's Audit.qs session is theirs, so the
 * timeline joins what they did in the app with what Qlik Sense recorded about them. */
export const DEMO_USER = { userDirectory: 'DOMAIN', userId: 'administrator' };
/** Just before their 11:07 (CET) license requests in the shipped logs. */
const DEMO_SESSION_START = new Date('2019-02-01T10:07:20.000Z');

export interface Demo {
  qlik: SimulatedQlik;
  pki: Pki;
  /** The webhook sink the demo's alerts go to. */
  siem: DemoSiem;
  /** Raw config sections for the demo (merged over the embedded defaults). */
  config: object;
  stop(): Promise<void>;
}

/** Real Qlik AuditSecurity logs shipped for the demo (CC0; see demo/qlik-logs/PROVENANCE.md). */
const DEMO_LOGS = path.resolve(__dirname, 'qlik-logs');

/**
 * Opens the demo's own store, made from the shipped logs: one left by an earlier development version
 * is replaced (a real store is never touched: `logs` and the worker refuse it with a message instead).
 */
export async function openDemoStore(url: string): Promise<AuditStore> {
  try {
    return await openStore(url, { applicationName: 'qlik-audit dev' });
  } catch (err) {
    if (!(err instanceof StoreFormatError) || !url.startsWith('embedded:')) throw err;
    rmSync(url.slice('embedded:'.length), { recursive: true, force: true });
    return openStore(url);
  }
}

export async function startDemoQlik(varDir: string): Promise<Demo> {
  const logDir = path.join(varDir, 'qlik-logs');
  const storeDir = path.join(varDir, 'auditdb');
  if (!existsSync(logDir)) cpSync(DEMO_LOGS, logDir, { recursive: true, filter: (src) => !src.endsWith('.md') && !src.endsWith('SHA256SUMS') });
  const certDir = path.join(varDir, 'demo-certs');
  const pki = existsSync(path.join(certDir, 'root.pem')) ? loadPki(certDir) : createPki(certDir);
  const qlik = await new SimulatedQlik({ pki }).start();
  // One redirect chain across allowed hosts, and one that leaves the allow-list.
  qlik.routes.set('/tempcontent/demo/via-cdn.png', { kind: 'redirect', location: qlik.url('/content/demo/via-cdn.png', '127.0.0.2') });
  qlik.routes.set('/tempcontent/demo/escape.png', { kind: 'redirect', location: qlik.url('/steal.png', qlik.outsideHost) });
  // What the Printing Service renders: a full 1920×1080 table object (the user saw part of it).
  const render = await sheetObjectRender();
  qlik.routes.set('/tempcontent/demo/sales-overview.png', { kind: 'image', body: render });
  qlik.routes.set('/content/demo/via-cdn.png', { kind: 'image', body: render });
  const siem = await startDemoSiem(path.join(varDir, 'demo-siem-alerts.jsonl'));
  return {
    qlik,
    pki,
    siem,
    config: {
      // Audit.qs posts from the hub's origin: the simulated Qlik's.
      eventApi: { cors: { allowedOrigins: [new URL(qlik.url('/')).origin] } },
      qlik: { cert: pki.files, rejectUnauthorized: true },
      screenshots: {
        allowedImageDownloadHosts: ['127.0.0.1', '127.0.0.2', '127.0.0.3'],
        storageTargets: [{ enable: true, type: 'flat', directory: path.join(varDir, 'screenshots') }],
        // Butler SOS's second file: the screenshot under a header band naming the event.
        addInImageMetadata: { enable: true, fields: { date: true, eventId: true, correlationId: true, selectionTxnId: true, user: true, appId: true, appName: true, sheetName: true, viewingDuration: true } },
        auth: { mode: 'userTicket', qps: { host: '127.0.0.1', port: qlik.qpsPort } },
      },
      auditSecurityLog: { sources: [{ directory: logDir }], store: `embedded:${storeDir}`, anchorFile: path.join(varDir, 'anchors', 'audit-store.anchors'), every: '1m' },
      alerts: { sinks: [siem.sink] },
    },
    stop: async () => void (await Promise.all([qlik.stop(), siem.stop()])),
  };
}

/** The files for trying commands on the running demo (docs/commands.md): its configuration and a screenshot event. */
export const DEMO_CONFIG_FILE = 'demo.yaml';
const DEMO_EVENT_FILE = 'demo-screenshot-event.json';

/**
 * Writes ./var/demo.yaml — the demo's configuration as a file, for `npx qlik-audit <command> --config
 * var/demo.yaml` while the demo runs (its ports change at every start) — and ./var/demo-screenshot-event.json,
 * a screenshot event of the demo user for `qlik-audit screenshot --event`.
 */
export function writeDemoFiles(varDir: string, demo: Demo, temporal: { address: string; namespace: string; taskQueue: string }, eventApi: { host: string; port: number }): void {
  mkdirSync(varDir, { recursive: true });
  const config = demo.config as { eventApi: object };
  const header =
    '# The configuration of the running demo, written by `qlik-audit dev --demo` (npm start) at each start:\n' +
    '# try any command on the demo with `npx qlik-audit <command> --config var/demo.yaml` (docs/commands.md).\n' +
    '# Its ports and secrets change at every start. Not a template for a real site: see docs/getting-started.md.\n';
  const yaml = stringify({ temporal, ...config, eventApi: { ...eventApi, ...config.eventApi } }, { lineWidth: 0 });
  const file = path.join(varDir, DEMO_CONFIG_FILE);
  writeFileSync(file, header + yaml, { mode: 0o600 });
  chmodSync(file, 0o600); // it holds the demo's secrets; `mode` applies only to a new file
  const user = `UserDirectory=${DEMO_USER.userDirectory}; UserId=${DEMO_USER.userId}`;
  const event = withCrop(screenshotEvent(demo.qlik.url('/tempcontent/demo/sales-overview.png'), user, { timestamp: new Date().toISOString() }), DEMO_CROP);
  writeFileSync(path.join(varDir, DEMO_EVENT_FILE), `${JSON.stringify(event, null, 2)}\n`);
}

function loadPki(dir: string): Pki {
  // Reuse the certificates of an earlier demo run (so the CA an admin may have inspected stays the same).
  const read = (name: string) => readFileSync(path.join(dir, name), 'utf8');
  return {
    dir,
    caCert: read('root.pem'),
    serverCert: read('server.pem'),
    serverKey: read('server_key.pem'),
    clientCert: read('client.pem'),
    clientKey: read('client_key.pem'),
    files: { clientCert: path.join(dir, 'client.pem'), clientCertKey: path.join(dir, 'client_key.pem'), clientCertCA: path.join(dir, 'root.pem') },
  };
}

export interface DemoRun {
  title: string;
  workflowId: string;
  result?: ScreenshotResult;
  error?: string;
}

/** Posts the sample events to the receiver and waits for their results. */
export async function runDemoEvents(demo: Demo, receiverUrl: string, waitForResult: (workflowId: string) => Promise<ScreenshotResult>): Promise<{ runs: DemoRun[]; session: { posted: number; accepted: number; errors: string[] } }> {
  const { qlik } = demo;
  const now = { timestamp: new Date().toISOString() };
  const post = (event: unknown) => fetch(`${receiverUrl}/api/v1/audit-event`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
  // The demo user's session: sheet loads, selections, object views, a bookmark (stored in the audit trail).
  const demoUser = `UserDirectory=${DEMO_USER.userDirectory}; UserId=${DEMO_USER.userId}`;
  const session = sessionEvents(demoUser, DEMO_SESSION_START);
  const sessionResult = { posted: 0, accepted: 0, errors: [] as string[] };
  for (const event of session.events) {
    sessionResult.posted++;
    const answer = await post(event);
    if (answer.status === 202) sessionResult.accepted++;
    else sessionResult.errors.push(`${event.type}: ${answer.status} ${((await answer.json()) as { error?: string }).error ?? ''}`);
  }
  const samples = [
    { title: `stored: the table ${DEMO_USER.userDirectory}\\${DEMO_USER.userId} was looking at, cropped to what they saw`, event: withCrop(screenshotEvent(qlik.url('/tempcontent/demo/sales-overview.png'), demoUser, { timestamp: session.screenshotAt }), DEMO_CROP) },
    { title: 'stored: via an allowed redirect to a second host', event: screenshotEvent(qlik.url('/tempcontent/demo/via-cdn.png'), 'DEMO\\bob', now) },
    { title: 'skipped: an e-mail address cannot get a ticket', event: screenshotEvent(qlik.url('/tempcontent/demo/email.png'), 'carol@example.com', now) },
    { title: 'blocked: a redirect to a host outside the allow-list', event: screenshotEvent(qlik.url('/tempcontent/demo/escape.png'), 'DEMO\\mallory', now) },
  ];
  const runs: DemoRun[] = [];
  for (const { title, event } of samples) {
    const answer = await post(event);
    const body = (await answer.json()) as { workflowId?: string; error?: string };
    if (answer.status !== 202 || !body.workflowId) {
      runs.push({ title, workflowId: '', error: `receiver answered ${answer.status}: ${body.error ?? ''}` });
      continue;
    }
    try {
      runs.push({ title, workflowId: body.workflowId, result: await waitForResult(body.workflowId) });
    } catch (err) {
      runs.push({ title, workflowId: body.workflowId, error: (err as Error).message });
    }
  }
  return { runs, session: sessionResult };
}

/** Verifies the demo logs offline, schedules ingestion and detections, and runs one of each now. */
export async function runDemoAuditLogs(client: Client, config: Config) {
  const sources = config.auditSecurityLog.sources.map((s) => s.directory);
  const verification = await verifyChains(buildChains(await discoverLogFiles(sources)), { sequenceMax: config.auditSecurityLog.sequenceMax, columns: config.auditSecurityLog.columns });
  await upsertIngestSchedule(client, config, config.temporal.taskQueue);
  const ingest: IngestSummary = await (await startIngestNow(client, config.temporal.taskQueue)).result();
  // The detections over what was just stored (and on their schedule from now on).
  await upsertDetectionSchedule(client, config, config.temporal.taskQueue);
  const detections: DetectionResult = await (await startDetectionNow(client, config.temporal.taskQueue)).result();
  return { verification, ingest, detections };
}
