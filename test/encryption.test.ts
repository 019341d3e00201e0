// Personal data encrypted in Temporal (SPEC 8): a screenshot run of a worker and client with
// temporal.encryption leaves no user name, app name or URL in the history the Temporal API returns
// (search attributes aside: they are not payloads, README says what they carry); the codec server
// decodes it for whoever holds the token, answers the Web UI's origin only, and a rotated-out key
// still reads what it wrote.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { createCodecServer } from '../client/codec-server';
import { startCaptureScreenshot } from '../client/start-screenshot';
import { dataConverterFor, EncryptionCodec, encryptionKeys } from '../common/encryption-codec';
import { parseConfig } from '../common/config';
import { screenshotEvent, startTestbed } from './helpers/screenshot-testbed';
import { devServer, startWithRetry } from './helpers/temporal';
import { freePort } from './helpers/ports';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { searchAttributes } from '../common/search-attributes';
import { resolveTemporalBinaries } from '../worker/temporal-cli';
import { launchChromium } from './helpers/chromium';
import type { Page } from 'playwright-core';

const SECRETS = ['zelda-secret', 'LAB', 'Sales Analysis', 'secret-report.png', '/tempcontent/', 'Overview', 'Mozilla/5.0'];

test('a screenshot run leaves no user, app or URL in the raw history; the codec server decodes it for the token holder and the UI origin only', async () => {
  const env = await devServer();
  const key = randomBytes(32).toString('base64');
  const bed = await startTestbed(env, { rawConfig: { temporal: { encryption: { keys: [{ id: 'k2026', key }] } } } });
  const client = new Client({ connection: env.connection, namespace: 'default', dataConverter: dataConverterFor(bed.config) });
  const event = screenshotEvent(bed.qlik.url('/tempcontent/secret-report.png'), 'UserDirectory=LAB; UserId=zelda-secret');
  const { handle, workflowId } = await startCaptureScreenshot(client, bed.taskQueue, event);
  const result = await handle.result();
  assert.equal(result.status, 'stored', JSON.stringify(result));

  // The history as the Temporal server holds it, read without the codec.
  const { history } = await env.client.workflowService.getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId } });
  const events = history?.events ?? [];
  assert.ok(events.length > 3);
  let encrypted = 0;
  for (const e of events) {
    const copy = temporal.api.history.v1.HistoryEvent.fromObject(temporal.api.history.v1.HistoryEvent.toObject(temporal.api.history.v1.HistoryEvent.create(e as never)));
    // Search attributes are not payloads (they index runs): left out here, on purpose (README).
    if (copy.workflowExecutionStartedEventAttributes) copy.workflowExecutionStartedEventAttributes.searchAttributes = null;
    if (copy.upsertWorkflowSearchAttributesEventAttributes) continue;
    const bytes = Buffer.from(temporal.api.history.v1.HistoryEvent.encode(copy).finish());
    const text = bytes.toString('latin1');
    for (const secret of SECRETS) assert.ok(!text.includes(secret), `event ${e.eventId} (${e.eventType}) holds '${secret}' in clear`);
    if (text.includes('binary/encrypted')) encrypted++;
  }
  assert.ok(encrypted >= 3, `payloads are there, encrypted (${encrypted} events)`);

  // The codec server: the started event's input, decoded for the token holder.
  const token = randomBytes(24).toString('base64url');
  const codec = dataConverterFor(bed.config)?.payloadCodecs[0];
  assert.ok(codec);
  const server = await createCodecServer(parseConfig({ codecServer: { allowedOrigins: ['http://127.0.0.1:8233'] } }, { source: 'test', baseDir: bed.dir }), codec, token);
  await server.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  try {
    const input = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    const body = JSON.stringify({ payloads: input.map((p) => ({ metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])), data: Buffer.from(p.data ?? []).toString('base64') })) });
    const post = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://127.0.0.1:8233', ...headers }, body });
    const refused = await post('/decode');
    assert.equal(refused.status, 401);
    assert.doesNotMatch(await refused.text(), /zelda/);
    assert.equal((await post('/decode', { authorization: 'Bearer not-the-token-at-all' })).status, 401);
    for (const [path, headers] of [['/decode', { authorization: `Bearer ${token}` }], [`/t/${token}/decode`, {}]] as const) {
      const decoded = await post(path, headers);
      assert.equal(decoded.status, 200);
      assert.equal(decoded.headers.get('access-control-allow-origin'), 'http://127.0.0.1:8233');
      const out = (await decoded.json()) as { payloads: { data: string }[] };
      assert.match(Buffer.from(out.payloads[0]?.data ?? '', 'base64').toString('utf8'), /zelda-secret/, 'the operator with the token reads the user');
    }
    // Another origin gets no CORS grant: a page elsewhere cannot read the answer in a browser.
    const preflight = await fetch(`${base}/decode`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
  } finally {
    await server.close();
  }
});

test('keys rotate: a new current key writes, the old one still reads what it wrote; a tampered or unknown-key payload fails loudly', async () => {
  const oldKey = randomBytes(32).toString('base64');
  const newKey = randomBytes(32).toString('base64');
  const before = encryptionKeys(parseConfig({ temporal: { encryption: { keys: [{ id: 'old', key: oldKey }] } } }, { source: 'test', baseDir: '/' }));
  const after = encryptionKeys(parseConfig({ temporal: { encryption: { keys: [{ id: 'old', key: oldKey }, { id: 'new', key: newKey }], current: 'new' } } }, { source: 'test', baseDir: '/' }));
  assert.ok(before && after);
  const writeOld = new EncryptionCodec(before.current, before.all);
  const rotated = new EncryptionCodec(after.current, after.all);
  const plain = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('{"user":"LAB\\\\zelda"}') };
  const [sealed] = await writeOld.encode([plain]);
  assert.ok(sealed && !Buffer.from(sealed.data ?? []).toString('latin1').includes('zelda'));
  assert.equal(Buffer.from((await rotated.decode([sealed]))[0]?.data ?? []).toString(), '{"user":"LAB\\\\zelda"}');
  const [sealedNew] = await rotated.encode([plain]);
  assert.equal(Buffer.from(sealedNew?.metadata?.['encryption-key-id'] ?? []).toString(), 'new');
  await assert.rejects(writeOld.decode([sealedNew as never]), /encrypted under key 'new', which is not in temporal\.encryption\.keys/);
  const tampered = { ...sealed, data: Buffer.from(sealed.data ?? []) };
  (tampered.data as Buffer)[20] = ((tampered.data as Buffer)[20] ?? 0) ^ 1;
  await assert.rejects(rotated.decode([tampered]), /does not authenticate under key 'old'/);
  assert.throws(() => encryptionKeys(parseConfig({ temporal: { encryption: { keys: [{ id: 'short', key: 'c2hvcnQ=' }] } } }, { source: 'test', baseDir: '/' })), /temporal\.encryption\.keys\[0\] \(short\): expected 32 bytes in base64/);
});

/** The text of the page and its frames once `pattern` shows (or after `ms`). */
async function pageText(page: Page, pattern: RegExp, ms: number): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const all = (await Promise.all(page.frames().map((f) => f.locator('body').innerText().catch(() => '')))).join('\n');
    if (pattern.test(all) || Date.now() > deadline) return all;
    await page.waitForTimeout(250);
  }
}

test('the Web UI (Chromium) shows the decoded input only through the codec server', async () => {
  const token = randomBytes(24).toString('base64url');
  const key = randomBytes(32).toString('base64');
  const encryption = { keys: [{ id: 'k2026', key }] };
  const codecConfig = parseConfig({ temporal: { encryption }, codecServer: { allowedOrigins: [] } }, { source: 'test', baseDir: '/' });
  const codec = dataConverterFor(codecConfig)?.payloadCodecs[0];
  assert.ok(codec);
  // A dev server whose Web UI is told where the codec endpoint is (as an operator would set it).
  const codecPort = await freePort();
  const { cli } = resolveTemporalBinaries();
  const env = await startWithRetry(() =>
    TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'existing-path', path: cli }, ip: '127.0.0.1', searchAttributes, ui: true, log: { format: 'json', level: 'error' }, extraArgs: ['--ui-codec-endpoint', `http://127.0.0.1:${codecPort}/t/${token}`] },
    }),
  );
  const uiPort = Number(env.address.split(':')[1]) + 1000;
  const uiOrigin = `http://127.0.0.1:${uiPort}`;
  const server = await createCodecServer(parseConfig({ codecServer: { allowedOrigins: [uiOrigin, `http://localhost:${uiPort}`] } }, { source: 'test', baseDir: '/' }), codec, token);
  const browser = await launchChromium();
  try {
    const bed = await startTestbed(env, { rawConfig: { temporal: { encryption } } });
    const client = new Client({ connection: env.connection, namespace: 'default', dataConverter: dataConverterFor(bed.config) });
    const { handle, workflowId, runId } = await startCaptureScreenshot(client, bed.taskQueue, screenshotEvent(bed.qlik.url('/tempcontent/ui-secret.png'), 'UserDirectory=LAB; UserId=zelda-secret'));
    assert.equal((await handle.result()).status, 'stored');
    const page = await browser.newPage({ viewport: { width: 1400, height: 1600 } });
    const history = `${uiOrigin}/namespaces/default/workflows/${workflowId}/${runId}/history`;
    // Codec server down: the UI has only ciphertext to show.
    await page.goto(history);
    await page.getByText('COMPLETED').first().waitFor({ timeout: 30_000 });
    const sealed = await pageText(page, /zelda-secret/, 4000);
    assert.doesNotMatch(sealed, /zelda-secret/, 'without the codec server the UI shows no user');
    // Codec server up: the same page decodes through it.
    await server.listen({ host: '127.0.0.1', port: codecPort });
    await page.goto(history);
    await page.getByText('COMPLETED').first().waitFor({ timeout: 30_000 });
    const decoded = await pageText(page, /zelda-secret/, 20_000);
    const artifacts = path.resolve(__dirname, '..', 'test-artifacts');
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'ui-decoded-through-codec-server.png'), fullPage: true });
    assert.match(decoded, /zelda-secret/, 'the UI shows the decoded input');
    await bed.stop();
  } finally {
    await browser.close();
    await server.close();
    await env.teardown();
  }
});
