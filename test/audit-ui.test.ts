// The auditor's view (SPEC 6.3) as auditors and attackers use it: headless Chromium against the web
// app, signed in through a real OpenID Connect provider (oidc-provider, started here), on a store
// filled by a real ingest run of the sample AuditSecurity logs (anchored), Audit.qs events and a
// stored screenshot. An auditor searches, reads a trail with its thumbnail, opens the screenshot
// (hash re-checked), downloads a bundle whose manifest verifies; each look lands in the access
// record, under the digest chain. Not signed in, an operator, no role, a forged or expired cookie, a
// cross-site POST: refused. Page pictures go to test-artifacts/.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import sharp from 'sharp';
import { Agent, request } from 'undici';
import { startAuditUi, type RunningAuditUi } from '../audit-ui/start-audit-ui';
import { checkStore } from '../client/store-check';
import { parseConfig, type Config } from '../common/config';
import { createLogger } from '../common/logger';
import { startDemoIdentityProvider, type DemoIdentityProvider } from '../demo/demo-identity-provider';
import { screenshotEvent, sessionEvents } from '../demo/sample-events';
import { createPki } from '../demo/simulated-qlik/pki';
import { accessesOf } from '../store/access-records';
import { eventRow, storeEvents } from '../store/audit-events';
import { recordScreenshotOutcome } from '../store/screenshot-outcomes';
import type { AuditStore } from '../store/store';
import { timeline, timelinePage } from '../store/timeline';
import { copySamples } from './helpers/audit-log-factory';
import { launchChromium } from './helpers/chromium';
import { ingestBed } from './helpers/ingest-bed';
import { freePort } from './helpers/ports';
import { scratchStoreUrl } from './helpers/postgres';

const ARTIFACTS = path.resolve(__dirname, '..', 'test-artifacts');
const ADMIN = { userDirectory: 'DOMAIN', userId: 'administrator' };
const TRAIL = `/trail?user=${encodeURIComponent('DOMAIN\\administrator')}&from=2019-01-01&to=2019-12-31`;

let browser: Browser;
let idp: DemoIdentityProvider;
let ui: RunningAuditUi;
let store: AuditStore;
let config: Config;
let runId: string;
let shotSha: string;
/** The sessions' clock runs this far ahead (the expiry test moves it). */
let skew = 0;

before(async () => {
  const sources = copySamples();
  const bed = await ingestBed(scratchStoreUrl(), sources);
  const summary = await bed.ingest();
  assert.ok(summary.rowsStored > 0);
  store = bed.store;
  const port = await freePort();
  idp = await startDemoIdentityProvider({ redirectUris: [`http://127.0.0.1:${port}/auth/callback`] });
  const shots = path.join(sources, 'screenshots');
  mkdirSync(shots, { recursive: true });
  config = parseConfig(
    {
      temporal: { address: bed.env.address, taskQueue: bed.taskQueue },
      auditSecurityLog: { sources: [{ directory: sources }], store: bed.config.auditSecurityLog.store },
      screenshots: { storageTargets: [{ enable: true, type: 'flat', directory: shots }] },
      auditUi: {
        enable: true,
        port,
        oidc: { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, redirectUri: `http://127.0.0.1:${port}/auth/callback`, rolesClaim: 'groups', auditorValues: ['qlik-auditors'], operatorValues: ['qlik-operators'] },
        sessionMinutes: 30,
      },
    },
    { source: 'test', baseDir: sources },
  );
  // What the administrator did (Audit.qs) and saw (a stored screenshot), beside what Qlik recorded (the sample rows).
  const { events } = sessionEvents('DOMAIN\\administrator', new Date('2019-02-01T10:01:00.000Z'));
  await storeEvents(store, events.map(eventRow), { key: undefined });
  const event = screenshotEvent('https://qlik.example.com/tempcontent/admin.png', 'DOMAIN\\administrator', { timestamp: '2019-02-01T10:02:00.000Z' });
  const file = path.join(shots, `${event.eventId}.png`);
  const png = await sharp({ create: { width: 900, height: 500, background: '#2f6fb0', channels: 3 } })
    .composite([{ input: Buffer.from('<svg width="900" height="500"><text x="40" y="120" font-size="64" fill="white">Sales Analysis</text></svg>'), top: 0, left: 0 }])
    .png()
    .toBuffer();
  writeFileSync(file, png);
  shotSha = createHash('sha256').update(png).digest('hex');
  runId = randomUUID();
  await recordScreenshotOutcome(store, event, { workflowId: `screenshot-${event.eventId}`, runId, status: 'stored', savedPaths: [file], sha256: shotSha, bytes: png.length, contentType: 'image/png', sessionVerified: true, startedAt: event.timestamp, finishedAt: event.timestamp });
  ui = await startAuditUi(config, store, createLogger('test', { level: 'error' }), { now: () => Date.now() + skew });
  browser = await launchChromium();
  mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await ui?.close();
  await idp?.close();
});

/** Signs in at the identity provider's login form as `login`, from wherever the web app sent the browser. */
async function signInAt(page: Page, login: string): Promise<void> {
  await page.waitForURL((url) => url.href.startsWith(idp.issuer));
  await page.locator('input[name=login]').fill(login);
  await page.locator('input[name=password]').fill('any password');
  await page.locator('button[type=submit]').click();
  await page.waitForURL((url) => url.href.startsWith(ui.url));
}

async function signedIn(login: string, start = '/'): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${ui.url}${start}`);
  if (start === '/') await page.getByRole('link', { name: /Sign in with your organisation's account/ }).click();
  await signInAt(page, login);
  return { context, page };
}

async function cookieHeader(context: BrowserContext): Promise<string> {
  return (await context.cookies(ui.url)).map((c) => `${c.name}=${c.value}`).join('; ');
}

/** An image's natural width once it has loaded (0 if it never does within 10 s). */
async function loadedWidth(img: Locator): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const width = await img.evaluate((el) => {
      const image = el as unknown as { complete: boolean; naturalWidth: number };
      return image.complete ? image.naturalWidth : -1;
    });
    if (width > 0 || Date.now() > deadline) return Math.max(0, width);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(ARTIFACTS, `audit-ui-${name}.png`), fullPage: true });

test('an auditor signs in, searches, reads a trail with its thumbnail, opens the screenshot and downloads a bundle that verifies; each look is recorded', async () => {
  // Not signed in: a trail's address goes to the identity provider, and back to it after sign-in.
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${ui.url}${TRAIL}`);
  await signInAt(page, 'auditor');
  assert.equal(new URL(page.url()).pathname, '/trail');
  await page.getByRole('heading', { name: 'Trail of DOMAIN\\administrator' }).waitFor();

  // The three sources, in time order, with verification; the screenshot inline as a thumbnail.
  const rows = page.locator('table.trail tbody tr');
  const sources = await rows.locator('td:nth-child(2)').allInnerTexts();
  for (const source of ['Audit.qs', 'Screenshot', 'Security log']) assert.ok(sources.includes(source), `${source} rows: ${sources.join(', ')}`);
  const times = await rows.locator('td:nth-child(1)').allInnerTexts();
  assert.deepEqual(times, [...times].sort(), 'oldest first');
  assert.ok((await page.locator('tr.src-security-log').filter({ hasText: '✔ checksum ok' }).count()) > 0);
  const thumb = page.locator('a.thumb img');
  await thumb.scrollIntoViewIfNeeded();
  // Loaded: a 320 px wide image made by sharp.
  assert.equal(await loadedWidth(thumb), 320);
  assert.match(await thumb.getAttribute('alt') ?? '', /Screenshot of Sales Analysis/);
  await shot(page, 'trail');
  // And the part of it around the screenshot, as the page shows it (for the README).
  await thumb.evaluate((el) => (el as unknown as { scrollIntoView(o: object): void }).scrollIntoView({ block: 'center' }));
  await page.screenshot({ path: path.join(ARTIFACTS, 'audit-ui-trail-view.png') });

  // The screenshot: the full image with its facts, its sha256 re-checked on display.
  await page.locator('a.thumb').click();
  await page.getByRole('heading', { name: 'Screenshot' }).waitFor();
  await page.getByText('✔ matches the stored hash').waitFor();
  assert.equal(await loadedWidth(page.locator('.shot img')), 900, 'the full image is shown');
  assert.match(await page.locator('dl.facts').innerText(), new RegExp(shotSha));
  await shot(page, 'screenshot');

  // Search with suggestions from the store, then the app view.
  await page.getByRole('link', { name: 'Search' }).click();
  const suggestions = await page.locator('datalist#users option').evaluateAll((options) => options.map((o) => (o as unknown as { value: string }).value));
  assert.ok(suggestions.includes('DOMAIN\\administrator'), `suggested: ${suggestions.join(', ')}`);
  await shot(page, 'search');
  const sales = await page.locator('#app option', { hasText: 'Sales Analysis' }).first().getAttribute('value');
  await page.locator('#app').selectOption(sales ?? '');
  await page.getByRole('button', { name: 'Show app' }).click();
  await page.getByRole('heading', { name: /App Sales Analysis/ }).waitFor();
  assert.match(await page.locator('main').innerText(), /DOMAIN\\administrator/);
  await shot(page, 'app');
  await page.getByRole('link', { name: 'DOMAIN\\administrator' }).first().click();
  await page.getByRole('heading', { name: 'Trail of DOMAIN\\administrator' }).waitFor();

  // The evidence bundle of what is on screen: the CLI's zip, whose manifest verifies.
  await page.getByLabel('From (UTC, inclusive)').last().fill('2019-01-01');
  await page.getByLabel('To (UTC, inclusive)').last().fill('2019-12-31');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download evidence bundle' }).click()]);
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-ui-evidence-'));
  const zip = path.join(dir, 'bundle.zip');
  await download.saveAs(zip);
  assert.match(download.suggestedFilename(), /^evidence-DOMAIN-administrator-2019-01-01-2019-12-31\.zip$/);
  const unpacked = path.join(dir, 'bundle');
  assert.equal(spawnSync('python3', ['-m', 'zipfile', '-e', zip, unpacked]).status, 0);
  const check = spawnSync('sha256sum', ['-c', 'MANIFEST.sha256'], { cwd: unpacked, encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  for (const file of ['timeline.jsonl', 'security-log/rows.csv', 'verify-store.json', 'access.jsonl', `screenshots/${path.basename(String(readFileSync(path.join(unpacked, 'timeline.jsonl'), 'utf8').match(/[^"]+\.png/)?.[0]))}`]) {
    assert.match(check.stdout, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: OK`));
  }
  const report = JSON.parse(readFileSync(path.join(unpacked, 'verify-store.json'), 'utf8')) as { ok: boolean; anchorsChecked: number };
  assert.ok(report.ok && report.anchorsChecked > 0, 'the store is proven against the ingest run\'s anchors');
  // "Who accessed this trail": the bundle lists the looks, its own download included.
  const looks = readFileSync(path.join(unpacked, 'access.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { action: string; actor: string; role: string });
  assert.deepEqual([...new Set(looks.map((l) => l.action))].sort(), ['evidence-downloaded', 'screenshot-opened', 'trail-viewed']);
  assert.ok(looks.every((l) => l.actor === 'auditor' && l.role === 'auditor'));

  // The access record is shown on the trail page and lies under the digest chain.
  await page.reload();
  const access = await page.locator('section[aria-labelledby=access]').innerText();
  for (const did of ['viewed the trail', 'opened a screenshot', 'downloaded an evidence bundle']) assert.match(access, new RegExp(did));
  const stored = await accessesOf(store, ADMIN);
  assert.ok(stored.some((a) => a.action === 'trail-viewed' && a.from === '2019-01-01T00:00:00.000Z' && a.to === '2020-01-01T00:00:00.000Z'), 'whose trail and which period');
  const signIns = (await store.query<{ n: string }>("SELECT count(*) AS n FROM audit_access WHERE action = 'sign-in' AND actor = 'auditor'")).rows[0]?.n;
  assert.ok(Number(signIns) >= 1, 'the sign-in is recorded');
  const { report: clean } = await checkStore(config, store);
  assert.equal(clean.ok, true, JSON.stringify(clean.problems));

  // The store's status: verify-store's result against the anchors, the ingest runs, the findings.
  await page.getByRole('link', { name: 'Store status' }).click();
  await page.getByText(/✔ Intact: the digest chain/).waitFor({ timeout: 30_000 });
  assert.match(await page.locator('main').innerText(), /Last ingest runs[\s\S]*ingest-/);
  await shot(page, 'status');
  await context.close();
});

test('nothing without sign-in, a forged or an expired session; an operator sees the status only; no role, no access', async () => {
  // Not signed in: pages go to sign-in, the API answers 401, and no data is in either answer.
  const anonymous = await fetch(`${ui.url}${TRAIL}`, { redirect: 'manual' });
  assert.equal(anonymous.status, 302);
  assert.match(anonymous.headers.get('location') ?? '', /^\/auth\/login\?returnTo=%2Ftrail/);
  for (const url of [`/api/trail?user=DOMAIN%5Cadministrator`, '/api/me', '/api/status', `/screenshot/${runId}/image`, `/screenshot/${runId}/thumb`]) {
    const res = await fetch(`${ui.url}${url}`, { redirect: 'manual' });
    assert.ok(res.status === 401 || res.status === 302, `${url}: ${res.status}`);
    assert.doesNotMatch(await res.text(), /administrator|checksum/);
  }
  const forged = await fetch(`${ui.url}/api/trail?user=DOMAIN%5Cadministrator`, { headers: { cookie: `qa-session=${Buffer.alloc(32, 7).toString('base64url')}` } });
  assert.equal(forged.status, 401);

  // An auditor's session works until it expires, then the same cookie is refused.
  const auditor = await signedIn('auditor');
  const cookie = await cookieHeader(auditor.context);
  assert.match(cookie, /qa-session=/);
  const sessionCookie = (await auditor.context.cookies(ui.url)).find((c) => c.name === 'qa-session');
  assert.ok(sessionCookie?.httpOnly && sessionCookie.sameSite === 'Lax', 'HttpOnly, SameSite');
  const csp = (await fetch(`${ui.url}/search`, { headers: { cookie } })).headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'none'/);
  assert.doesNotMatch(csp, /script-src|unsafe|http/, 'no script, nothing from elsewhere');
  assert.equal((await fetch(`${ui.url}/api/trail?user=DOMAIN%5Cadministrator&from=2019-01-01&to=2019-12-31`, { headers: { cookie } })).status, 200);
  // An image is served only after its page (and so its recorded look) was opened in this session.
  const direct = await fetch(`${ui.url}/screenshot/${runId}/image`, { headers: { cookie } });
  assert.equal(direct.status, 403);
  skew = 31 * 60_000;
  try {
    const expired = await fetch(`${ui.url}/api/trail?user=DOMAIN%5Cadministrator`, { headers: { cookie } });
    assert.equal(expired.status, 401, 'sessionMinutes is 30');
  } finally {
    skew = 0;
  }
  await auditor.context.close();

  // An operator: the store's status, but no trail, screenshot, thumbnail or evidence.
  const operator = await signedIn('operator');
  assert.equal(new URL(operator.page.url()).pathname, '/status');
  await operator.page.getByRole('heading', { name: 'Store status' }).waitFor();
  assert.equal(await operator.page.getByRole('link', { name: 'Search' }).count(), 0);
  assert.doesNotMatch(await operator.page.locator('main').innerText(), /administrator/, 'no user names on the operator\'s status page');
  const opCookie = await cookieHeader(operator.context);
  for (const url of [TRAIL, `/screenshot/${runId}`, `/screenshot/${runId}/image`, `/screenshot/${runId}/thumb`, '/api/trail?user=DOMAIN%5Cadministrator', '/api/access?user=DOMAIN%5Cadministrator', '/search', '/app?app=x']) {
    const res = await fetch(`${ui.url}${url}`, { headers: { cookie: opCookie }, redirect: 'manual' });
    assert.equal(res.status, 403, url);
    assert.doesNotMatch(await res.text(), /checksum|Sales Analysis/);
  }
  const opToken = await operator.page.locator('form[action="/auth/logout"] input[name=_csrf]').inputValue();
  const opEvidence = await fetch(`${ui.url}/evidence`, { method: 'POST', headers: { cookie: opCookie, origin: ui.url, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: opToken, user: 'DOMAIN\\administrator', from: '2019-01-01', to: '2019-12-31' }) });
  assert.equal(opEvidence.status, 403, 'an operator gets no bundle');
  const trailPage = await operator.page.goto(`${ui.url}${TRAIL}`);
  assert.equal(trailPage?.status(), 403);
  await shot(operator.page, 'operator-refused');
  await operator.context.close();

  // Someone the identity provider knows, in neither group: signed in to nothing, and that is recorded.
  const stranger = await signedIn('mallory');
  await stranger.page.getByRole('heading', { name: 'No access' }).waitFor();
  assert.equal((await stranger.context.cookies(ui.url)).filter((c) => c.name === 'qa-session').length, 0);
  const refused = await store.query("SELECT 1 FROM audit_access WHERE action = 'sign-in-refused' AND actor = 'mallory'");
  assert.equal(refused.rows.length, 1);
  await stranger.context.close();
});

test('a cross-site POST is refused: from another site in the browser, without the form token, or with a foreign Origin', async () => {
  const { context, page } = await signedIn('auditor');
  const cookie = await cookieHeader(context);
  const before = Number((await store.query<{ n: string }>("SELECT count(*) AS n FROM audit_access WHERE action = 'evidence-downloaded'")).rows[0]?.n);

  // Another site (127.0.0.2 is another site to the browser) posts a form to us as the signed-in auditor.
  const evil = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<form method="post" action="${ui.url}/evidence"><input name="user" value="DOMAIN\\administrator"><input name="from" value="2019-01-01"><input name="to" value="2019-12-31"></form><form method="post" action="${ui.url}/auth/logout"></form><script>document.forms[0].submit()</script>`);
  });
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.2', resolve));
  try {
    const evilPage = await context.newPage();
    const response = evilPage.waitForResponse((r) => r.url().startsWith(`${ui.url}/evidence`));
    await evilPage.goto(`http://127.0.0.2:${(evil.address() as AddressInfo).port}/`);
    assert.ok([401, 403].includes((await response).status()), `cross-site POST answered ${(await response).status()}`);
  } finally {
    evil.close();
  }
  // Without the page's token, or from a foreign origin with it: 403, nothing recorded, no bundle.
  const form = (extra: Record<string, string> = {}) => new URLSearchParams({ user: 'DOMAIN\\administrator', from: '2019-01-01', to: '2019-12-31', ...extra });
  const noToken = await fetch(`${ui.url}/evidence`, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: form() });
  assert.equal(noToken.status, 403);
  await page.goto(`${ui.url}${TRAIL}`);
  const token = await page.locator('form[action="/evidence"] input[name=_csrf]').inputValue();
  const freshCookie = await cookieHeader(context);
  const foreign = await fetch(`${ui.url}/evidence`, { method: 'POST', headers: { cookie: freshCookie, origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' }, body: form({ _csrf: token }) });
  assert.equal(foreign.status, 403);
  // The token and its secret cookie are good with their own session only: with another's session, 403.
  const own = await fetch(`${ui.url}/api/me`, { headers: { cookie: freshCookie } });
  assert.equal(own.status, 200);
  const other = await signedIn('auditor');
  const otherSession = (await other.context.cookies(ui.url)).find((c) => c.name === 'qa-session');
  const csrfCookie = (await context.cookies(ui.url)).find((c) => c.name === 'qa-csrf');
  assert.ok(otherSession && csrfCookie);
  const stolen = await fetch(`${ui.url}/evidence`, { method: 'POST', headers: { cookie: `qa-session=${otherSession.value}; qa-csrf=${csrfCookie.value}`, origin: ui.url, 'content-type': 'application/x-www-form-urlencoded' }, body: form({ _csrf: token }) });
  assert.equal(stolen.status, 403);
  await other.context.close();
  // The same token, cookie and session together do work (so the 403s above are the checks, not a broken form).
  const honest = await fetch(`${ui.url}/evidence`, { method: 'POST', headers: { cookie: freshCookie, origin: ui.url, 'content-type': 'application/x-www-form-urlencoded' }, body: form({ _csrf: token }) });
  assert.equal(honest.status, 200);
  assert.equal(honest.headers.get('content-type'), 'application/zip');
  await honest.arrayBuffer();
  const afterCount = Number((await store.query<{ n: string }>("SELECT count(*) AS n FROM audit_access WHERE action = 'evidence-downloaded'")).rows[0]?.n);
  assert.equal(afterCount, before + 1, 'no refused request was served (the one honest download is recorded)');
  // The auditor is still signed in (the cross-site sign-out form never ran or was refused).
  assert.equal((await fetch(`${ui.url}/api/me`, { headers: { cookie: await cookieHeader(context) } })).status, 200);
  await context.close();
});

test('after sign-in the browser goes back only to a page of ours: no open redirect', async () => {
  for (const returnTo of ['https://evil.example/', '//evil.example/x', '/\t/evil.example/x', '/\\evil.example', '/%09/evil.example']) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${ui.url}/auth/login?returnTo=${encodeURIComponent(returnTo)}`);
    await signInAt(page, 'auditor');
    await page.waitForLoadState();
    assert.equal(new URL(page.url()).origin, ui.url, `${JSON.stringify(returnTo)} stays here: ${page.url()}`);
    await context.close();
  }
});

test('a look that cannot be recorded is not served', async () => {
  const { context } = await signedIn('auditor');
  const cookie = await cookieHeader(context);
  // The store refuses new access records (as a full disk or a revoked grant would).
  await store.query('ALTER TABLE audit_access ADD CONSTRAINT qa_refuse_looks CHECK (false) NOT VALID');
  try {
    const page = await fetch(`${ui.url}${TRAIL}`, { headers: { cookie } });
    assert.equal(page.status, 503);
    const text = await page.text();
    assert.match(text, /could not be recorded in the audit store, so nothing is shown/);
    assert.doesNotMatch(text, /checksum|Sales Analysis|Audit\.qs/);
    const api = await fetch(`${ui.url}/api/trail?user=DOMAIN%5Cadministrator`, { headers: { cookie } });
    assert.equal(api.status, 503);
    assert.doesNotMatch(await api.text(), /entries/);
    assert.equal((await fetch(`${ui.url}/screenshot/${runId}`, { headers: { cookie } })).status, 503);
  } finally {
    await store.query('ALTER TABLE audit_access DROP CONSTRAINT qa_refuse_looks');
    await context.close();
  }
});

test('over TLS the cookies are __Host-, Secure, HttpOnly and SameSite, with HSTS; the listener refuses a key of another certificate', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-ui-pki-'));
  const pki = createPki(dir);
  const pem = (name: string, text: string) => (writeFileSync(path.join(dir, name), text), path.join(dir, name));
  const [cert, key, otherKey] = [pem('ui.pem', pki.serverCert), pem('ui-key.pem', pki.serverKey), pem('other-key.pem', pki.clientKey)];
  const port = await freePort();
  const tlsConfig = parseConfig(
    { ...config, auditUi: { ...config.auditUi, port, tls: { enable: true, cert, key }, oidc: { ...config.auditUi.oidc, redirectUri: `https://127.0.0.1:${port}/auth/callback` } } },
    { source: 'test', baseDir: tmpdir() },
  );
  const secure = await startAuditUi(tlsConfig, store, createLogger('test', { level: 'error' }));
  try {
    const dispatcher = new Agent({ connect: { ca: pki.caCert } });
    const res = await request(`${secure.url}/auth/login`, { dispatcher });
    assert.equal(res.statusCode, 302);
    assert.ok(String(res.headers.location).startsWith(`${idp.issuer}/`), 'to the identity provider');
    const cookie = String(res.headers['set-cookie']);
    assert.match(cookie, /^__Host-qa-sign-in=[^;]+; Max-Age=600; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    assert.match(String(res.headers['strict-transport-security']), /max-age=31536000/);
    await res.body.dump();
  } finally {
    await secure.close();
  }
  const wrongKey = parseConfig({ ...tlsConfig, auditUi: { ...tlsConfig.auditUi, tls: { enable: true, cert, key: otherKey } } }, { source: 'test', baseDir: tmpdir() });
  await assert.rejects(startAuditUi(wrongKey, store, createLogger('test', { level: 'error' })), /auditUi\.tls\.key .* does not belong to the certificate auditUi\.tls\.cert/);
});

test('paging a trail neither skips nor repeats an entry, when many share one instant, with a source or a type filter', async () => {
  // 60 events and 5 screenshot outcomes of one user at five instants (13 entries at each).
  const user = { userDirectory: 'PAGER', userId: 'p' };
  const at = (i: number) => new Date(Date.UTC(2019, 1, 1, 11, 0, i % 5)).toISOString();
  const events = Array.from({ length: 60 }, (_, i) => ({ ...sessionEvents('PAGER\\p', new Date(at(i))).events[i % 4]!, eventId: randomUUID(), timestamp: at(i) }));
  await storeEvents(store, events.map(eventRow), { key: undefined });
  for (let i = 0; i < 5; i++) {
    const event = screenshotEvent('https://qlik.example.com/tempcontent/p.png', 'PAGER\\p', { timestamp: at(i) });
    await recordScreenshotOutcome(store, event, { workflowId: `screenshot-${event.eventId}`, runId: randomUUID(), status: 'skipped', reason: 'no-active-session', savedPaths: [], startedAt: event.timestamp, finishedAt: event.timestamp });
  }
  const key = (e: { time: string; source: string; eventId?: unknown; runId?: unknown }) => `${e.time} ${e.source} ${String(e.runId ?? e.eventId)}`;
  const all: string[] = [];
  for await (const e of timeline(store, { ...user })) all.push(key(e as never));
  assert.equal(all.length, 65);
  assert.deepEqual(all, [...all].sort((a, b) => a.slice(0, 24).localeCompare(b.slice(0, 24))), 'oldest first');
  const types = [...new Set(events.map((e) => e.type))];
  const cases: [number, { types?: string[]; sources?: ('audit-qs' | 'screenshot')[]; from?: string }][] = [
    [7, {}], [13, {}], [1, {}], [4, { from: at(2) }], [5, { types: [types[0] as string] }], [3, { types: types.slice(1, 3) }], [6, { sources: ['screenshot'] }], [2, { sources: ['audit-qs'], from: at(3) }],
  ];
  for (const [size, filter] of cases) {
    const seen: string[] = [];
    let after: { time: string; skip: number } | undefined;
    for (let pages = 0; pages < 100; pages++) {
      const page = await timelinePage(store, { ...user, from: filter.from, sources: filter.sources }, { size, after, types: filter.types });
      assert.ok(page.entries.length <= size);
      seen.push(...page.entries.map((e) => key(e as never)));
      if (!page.next) break;
      after = page.next;
    }
    const expected = all.filter((line) => {
      const [time, source, id] = line.split(' ');
      if (filter.from && (time as string) < filter.from) return false;
      if (filter.sources && !filter.sources.includes(source as 'audit-qs')) return false;
      return !filter.types || filter.types.includes(events.find((e) => e.eventId === id)?.type ?? 'screenshot.url.received');
    });
    assert.ok(expected.length > 0);
    assert.deepEqual(seen, expected, `pages of ${size} with ${JSON.stringify(filter)}`);
  }
});

test('the access record is under the digest chain: a database user who edits or deletes a look is caught', async () => {
  const { context, page } = await signedIn('auditor');
  await page.goto(`${ui.url}${TRAIL}`);
  await context.close();
  const last = (await store.query<{ id: string }>("SELECT id FROM audit_access WHERE action = 'trail-viewed' ORDER BY id DESC LIMIT 1")).rows[0]?.id;
  await store.query("UPDATE audit_access SET actor = 'someone else' WHERE id = $1", [last]);
  const edited = await checkStore(config, store);
  assert.ok(edited.report.problems.some((p) => p.kind === 'trail-changed' && /access record/.test(p.detail)), JSON.stringify(edited.report.problems));
  await store.query("UPDATE audit_access SET actor = 'auditor' WHERE id = $1", [last]);
  assert.equal((await checkStore(config, store)).report.ok, true);
  await store.query('DELETE FROM audit_access WHERE id = $1', [last]);
  const deleted = await checkStore(config, store);
  assert.ok(deleted.report.problems.some((p) => p.kind === 'trail-deleted'), JSON.stringify(deleted.report.problems));
});
