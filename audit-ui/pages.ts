// The auditor's view's pages, rendered on the server (no script needed to read them): search, a
// user's trail, one screenshot, an app, the store's status. Plain HTML with labels, headings and
// tables, so they read with a screen reader and work with the keyboard alone.
import type { AccessAction, StoredAccess } from '../store/access-records';
import type { TimelineEntry } from '../store/timeline';
import type { AppUse, FileFindings, IngestRun, KnownApp, KnownUser, OutcomeFacts } from '../store/trail-lookups';
import type { AnchorEntry } from '../store/anchor-log';
import { html, query, type Html } from './html';
import type { Session } from './sessions';
import type { StatusCheck } from './store-status';

export interface Frame {
  title: string;
  session?: Session;
  csrf?: string;
  nav?: 'search' | 'status';
}

const ACTION_LABEL: Record<AccessAction, string> = {
  'sign-in': 'signed in',
  'sign-in-refused': 'sign-in refused (no role)',
  'sign-out': 'signed out',
  'trail-viewed': 'viewed the trail',
  'app-viewed': 'viewed the app',
  'screenshot-opened': 'opened a screenshot',
  'evidence-downloaded': 'downloaded an evidence bundle',
  'status-viewed': 'viewed the store status',
};

export const userText = (u: { userDirectory: string; userId: string }) => `${u.userDirectory}\\${u.userId}`;
const time = (iso: string | null | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '');

export function page(frame: Frame, body: Html): string {
  const s = frame.session;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${frame.title} · qlik-audit</title>
<link rel="stylesheet" href="/assets/ui.css">
<link rel="icon" href="/assets/icon.svg" type="image/svg+xml">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/">qlik-audit <span>auditor's view</span></a>
  ${s ? html`<nav aria-label="Main">
    ${s.role === 'auditor' ? html`<a href="/search" ${frame.nav === 'search' ? html`aria-current="page"` : ''}>Search</a>` : ''}
    <a href="/status" ${frame.nav === 'status' ? html`aria-current="page"` : ''}>Store status</a>
  </nav>
  <div class="who">
    <span>Signed in as <strong>${s.actor}</strong> (${s.role})</span>
    <form method="post" action="/auth/logout"><input type="hidden" name="_csrf" value="${frame.csrf ?? ''}"><button type="submit">Sign out</button></form>
  </div>` : ''}
</header>
<main id="main" tabindex="-1">
${body}
</main>
<footer><p>Every sign-in, trail viewed, screenshot opened and bundle downloaded here is recorded in the audit store under its digest chain.</p></footer>
</body>
</html>
`.text;
}

export function messagePage(frame: Frame, heading: string, text: string | Html, links: Html = html``): string {
  return page(frame, html`<h1>${heading}</h1><p>${text}</p>${links}`);
}

export function signInPage(issuer: string, returnTo: string, problem?: string): string {
  return page(
    { title: 'Sign in' },
    html`<h1>Sign in</h1>
<p>The audit trail of Qlik Sense: what each user did, saw and what Qlik Sense recorded, for auditors and compliance teams.</p>
${problem ? html`<p class="bad" role="alert">${problem}</p>` : ''}
<p><a class="button" href="/auth/login${query({ returnTo: returnTo === '/' ? undefined : returnTo })}">Sign in with your organisation's account</a></p>
<p class="muted">You are sent to ${issuer} and back. Who signs in, and everything they look at, is recorded.</p>`,
  );
}

function accessTable(accesses: StoredAccess[], caption: string, showSubject = false): Html {
  if (accesses.length === 0) return html`<p class="muted">${caption}: nobody yet.</p>`;
  return html`<table class="compact">
<caption>${caption}</caption>
<thead><tr><th scope="col">When (UTC)</th><th scope="col">Who</th><th scope="col">Role</th><th scope="col">Did</th>${showSubject ? html`<th scope="col">Whose trail</th>` : ''}<th scope="col">What</th><th scope="col">From</th></tr></thead>
<tbody>
${accesses.map(
  (a) => html`<tr><td>${time(a.at)}</td><td>${a.actor}</td><td>${a.role}</td><td>${ACTION_LABEL[a.action] ?? a.action}</td>${showSubject ? html`<td>${a.subject ? userText(a.subject) : ''}</td>` : ''}<td>${a.detail}</td><td>${a.clientAddress ?? ''}</td></tr>\n`,
)}
</tbody></table>`;
}

export function searchPage(frame: Frame, users: KnownUser[], apps: KnownApp[]): string {
  return page(
    { ...frame, nav: 'search' },
    html`<h1>Search the audit trail</h1>
<section aria-labelledby="by-user">
<h2 id="by-user">A user's trail</h2>
<p class="muted">What the user did in the apps (Audit.qs events), what they saw (screenshots) and what Qlik Sense recorded (AuditSecurity rows).</p>
<form method="get" action="/trail" class="search">
  <label for="user">Qlik user (DIRECTORY\\userid)</label>
  <input id="user" name="user" list="users" required autocomplete="off" placeholder="ACME\\jdoe">
  <datalist id="users">${users.map((u) => html`<option value="${userText(u)}"></option>`)}</datalist>
  <label for="from">From (UTC, inclusive)</label>
  <input id="from" name="from" type="date">
  <label for="to">To (UTC, inclusive)</label>
  <input id="to" name="to" type="date">
  <button type="submit">Show trail</button>
</form>
<p class="muted">${users.length} user(s) in the store.</p>
</section>
<section aria-labelledby="by-app">
<h2 id="by-app">Who used an app</h2>
<form method="get" action="/app" class="search">
  <label for="app">App</label>
  <select id="app" name="app" required>
    ${apps.map((a) => html`<option value="${a.appId}">${a.appName || a.appId}${a.appName ? ` (${a.appId})` : ''}</option>`)}
  </select>
  <label for="app-from">From (UTC, inclusive)</label>
  <input id="app-from" name="from" type="date">
  <label for="app-to">To (UTC, inclusive)</label>
  <input id="app-to" name="to" type="date">
  <button type="submit">Show app</button>
</form>
</section>`,
  );
}

export interface TrailView {
  user: KnownUser;
  period: { from?: string; to?: string; fromDate?: string; toDate?: string };
  sources: readonly string[];
  type: string;
  entries: TimelineEntry[];
  /** Findings at the security-log rows' lines, by `machine/service/file:line`. */
  lineFindings: Map<string, string[]>;
  fileFindings: FileFindings[];
  nextHref?: string;
  firstHref?: string;
  position: number;
  accesses: StoredAccess[];
  serverMs: number;
}

const SOURCES = [
  { id: 'audit-qs', label: 'Audit.qs events (what they did)' },
  { id: 'screenshot', label: 'Screenshots (what they saw)' },
  { id: 'security-log', label: 'Security log (what Qlik recorded)' },
  { id: 'alert', label: 'Alerts (what the detections found)' },
] as const;
const SOURCE_LABEL: Record<string, string> = { 'audit-qs': 'Audit.qs', screenshot: 'Screenshot', 'security-log': 'Security log', alert: 'Alert' };

function verification(entry: TimelineEntry, lineFindings: Map<string, string[]>): Html {
  if (entry.source === 'security-log') {
    const findings = lineFindings.get(`${entry.machine}/${entry.service}/${entry.file}:${entry.line}`) ?? [];
    return html`${entry.checksumValid ? html`<span class="ok">✔ checksum ok</span>` : html`<span class="bad">✘ checksum INVALID</span>`}
      ${entry.headerOk ? '' : html`<br><span class="bad">✘ header not Qlik's layout</span>`}
      ${findings.map((f) => html`<br><span class="${/error/.test(f) ? 'bad' : 'warn'}">${f}</span>`)}
      <br><span class="muted">${entry.machine} ${entry.file}:${entry.line} #${entry.sequence}</span>`;
  }
  if (entry.source === 'screenshot') {
    const verified = entry.sessionVerified === true ? html`<span class="ok">✔ user's Qlik session confirmed</span>` : entry.sessionVerified === false ? html`<span class="warn">session not confirmed</span>` : html`<span class="muted">session not checked</span>`;
    return html`${entry.sha256 ? html`<span class="muted">sha256 ${String(entry.sha256).slice(0, 12)}… (re-checked when opened)</span><br>` : ''}${verified}`;
  }
  if (entry.source === 'alert') return html`<span class="bad">alert ${entry.alertId} (${entry.severity})</span>`;
  return html`<span class="muted">reported by the user's browser</span>`;
}

function whatCell(entry: TimelineEntry): Html {
  if (entry.source === 'screenshot' && entry.status === 'stored' && typeof entry.runId === 'string') {
    const alt = `Screenshot of ${entry.app || 'an app'}${entry.sheet ? `, sheet ${entry.sheet}` : ''} at ${time(entry.time)}`;
    return html`<a class="thumb" href="/screenshot/${encodeURIComponent(entry.runId)}"><img src="/screenshot/${encodeURIComponent(entry.runId)}/thumb" alt="${alt}" loading="lazy" width="160"></a>
      <span class="detail">${entry.detail}</span>`;
  }
  return html`<span class="detail">${entry.detail}</span>`;
}

export function trailPage(frame: Frame, view: TrailView): string {
  const who = userText(view.user);
  const { period } = view;
  const periodText = `${period.fromDate ?? 'the beginning'} to ${period.toDate ?? 'now'}`;
  return page(
    { ...frame, nav: 'search' },
    html`<h1>Trail of ${who}</h1>
<p>Period: ${periodText} (UTC). Oldest first. <span class="muted">This look is recorded.</span></p>
<form method="get" action="/trail" class="filters" aria-label="Filters">
  <input type="hidden" name="user" value="${who}">
  <label for="from">From</label><input id="from" name="from" type="date" value="${period.fromDate ?? ''}">
  <label for="to">To</label><input id="to" name="to" type="date" value="${period.toDate ?? ''}">
  <fieldset><legend>Sources</legend>
  ${SOURCES.map((s) => html`<label><input type="checkbox" name="source" value="${s.id}" ${view.sources.includes(s.id) ? html`checked` : ''}> ${s.label}</label>`)}
  </fieldset>
  <label for="type">Type</label><input id="type" name="type" value="${view.type}" placeholder="e.g. Login, sheet.view">
  <button type="submit">Apply</button>
</form>
<p class="muted">Entries ${view.entries.length ? `${view.position + 1}–${view.position + view.entries.length}` : 'none'} · read in ${view.serverMs.toFixed(0)} ms</p>
${view.entries.length === 0 ? html`<p>No entries for this user, period and filter.</p>` : html`<table class="trail">
<caption class="visually-hidden">The audit trail of ${who}</caption>
<thead><tr><th scope="col">Time (UTC)</th><th scope="col">Source</th><th scope="col">Type</th><th scope="col">App</th><th scope="col">What</th><th scope="col">Verification</th></tr></thead>
<tbody>
${view.entries.map(
  (e) => html`<tr class="src-${e.source}"><td class="nowrap">${time(e.time)}</td><td>${SOURCE_LABEL[e.source] ?? e.source}</td><td class="type">${e.type}</td><td>${typeof e.appId === 'string' ? html`<a href="/app${query({ app: e.appId })}">${e.app}</a>` : e.app}</td><td class="what">${whatCell(e)}</td><td class="check">${verification(e, view.lineFindings)}</td></tr>\n`,
)}
</tbody></table>`}
<nav class="pager" aria-label="Pages">
${view.firstHref ? html`<a href="${view.firstHref}">First page</a>` : ''}
${view.nextHref ? html`<a href="${view.nextHref}" rel="next">Next page</a>` : html`<span class="muted">End of the trail for this period.</span>`}
</nav>
${view.fileFindings.length ? html`<section aria-labelledby="findings"><h2 id="findings">Findings on these log files</h2>${findingsTable(view.fileFindings)}</section>` : ''}
<section aria-labelledby="evidence">
<h2 id="evidence">Evidence bundle</h2>
<p>A zip of this trail for the period (timeline, screenshots with sidecars, AuditSecurity rows with their verification, the store's check, who accessed this trail) and a MANIFEST.sha256 over all of it — the same as <code>qlik-audit audit evidence</code>.</p>
<form method="post" action="/evidence" class="search">
  <input type="hidden" name="_csrf" value="${frame.csrf ?? ''}">
  <input type="hidden" name="user" value="${who}">
  <label for="ev-from">From (UTC, inclusive)</label><input id="ev-from" name="from" type="date" required value="${period.fromDate ?? ''}">
  <label for="ev-to">To (UTC, inclusive)</label><input id="ev-to" name="to" type="date" required value="${period.toDate ?? new Date().toISOString().slice(0, 10)}">
  <button type="submit">Download evidence bundle</button>
</form>
</section>
<section aria-labelledby="access">
<h2 id="access">Who accessed this trail</h2>
${accessTable(view.accesses, `The latest ${view.accesses.length} look(s) at ${who}'s trail`)}
</section>`,
  );
}

function findingsTable(findings: FileFindings[]): Html {
  return html`<table class="compact">
<thead><tr><th scope="col">File</th><th scope="col">Finding</th><th scope="col">Severity</th><th scope="col">Count</th><th scope="col">First line</th><th scope="col">Detail</th></tr></thead>
<tbody>${findings.map((f) => html`<tr><td>${f.machine} ${f.fileName}</td><td>${f.kind}</td><td class="${f.severity === 'error' ? 'bad' : ''}">${f.severity}</td><td>${f.count}</td><td>${f.firstLine}</td><td>${f.detail}</td></tr>\n`)}</tbody>
</table>`;
}

export interface ScreenshotView {
  facts: OutcomeFacts;
  file?: string;
  /** The file's sha256 now, or why it could not be read. */
  now: { sha256?: string; problem?: string };
}

export function screenshotPage(frame: Frame, view: ScreenshotView): string {
  const f = view.facts;
  const user = f.userDirectory && f.userId ? { userDirectory: f.userDirectory, userId: f.userId } : undefined;
  const matches = view.now.sha256 !== undefined && view.now.sha256 === f.sha256;
  const alt = `Screenshot of ${f.appName ?? 'an app'}${f.sheetName ? `, sheet ${f.sheetName}` : ''}, as ${user ? userText(user) : 'the user'} saw it at ${time(f.eventTime)}`;
  return page(
    { ...frame, nav: 'search' },
    html`<h1>Screenshot</h1>
<p class="muted">This look is recorded.</p>
<div class="shot">
${matches && view.file ? html`<img src="/screenshot/${encodeURIComponent(f.runId)}/image" alt="${alt}">` : html`<p class="bad" role="alert">The image is not shown: ${view.now.problem ?? 'its file does not match the sha256 stored when it was downloaded'}.</p>`}
<dl class="facts">
  <dt>User</dt><dd>${user ? html`<a href="/trail${query({ user: userText(user), from: f.eventTime.slice(0, 10), to: f.eventTime.slice(0, 10) })}">${userText(user)}</a>` : 'unknown'}</dd>
  <dt>App</dt><dd>${f.appId ? html`<a href="/app${query({ app: f.appId })}">${f.appName ?? f.appId}</a>` : (f.appName ?? '')}</dd>
  <dt>Sheet</dt><dd>${f.sheetName ?? ''}</dd>
  <dt>Taken (event time, UTC)</dt><dd>${time(f.eventTime)}</dd>
  <dt>Outcome</dt><dd>${f.status}${f.reason ? `: ${f.reason}` : ''}</dd>
  <dt>User's Qlik session</dt><dd>${f.sessionVerified === true ? 'confirmed by QPS when the screenshot was taken' : f.sessionVerified === false ? 'not confirmed' : 'not checked (the event is the browser\'s word)'}</dd>
  <dt>File</dt><dd><code>${view.file ?? f.savedPaths[0] ?? ''}</code></dd>
  <dt>Size</dt><dd>${f.bytes ?? ''} bytes, ${f.contentType ?? ''}</dd>
  <dt>sha256 at download</dt><dd><code>${f.sha256 ?? ''}</code></dd>
  <dt>sha256 now</dt><dd><code>${view.now.sha256 ?? ''}</code> ${view.now.sha256 === undefined ? html`<span class="bad">✘ ${view.now.problem ?? 'not readable'}</span>` : matches ? html`<span class="ok">✔ matches the stored hash</span>` : html`<span class="bad">✘ DOES NOT MATCH the stored hash: the file was changed after download</span>`}</dd>
  <dt>Temporal run</dt><dd><code>${f.workflowId}</code> / <code>${f.runId}</code></dd>
  <dt>Audit.qs event</dt><dd><code>${f.eventId}</code></dd>
</dl>
</div>`,
  );
}

export function appPage(frame: Frame, app: { appId: string; appName: string }, period: { fromDate?: string; toDate?: string }, usage: AppUse[], accesses: StoredAccess[]): string {
  const byUser = new Map<string, AppUse[]>();
  for (const use of usage) byUser.set(userText(use), [...(byUser.get(userText(use)) ?? []), use]);
  return page(
    { ...frame, nav: 'search' },
    html`<h1>App ${app.appName || app.appId}</h1>
<p>App id <code>${app.appId}</code>. Period: ${period.fromDate ?? 'the beginning'} to ${period.toDate ?? 'now'} (UTC). <span class="muted">This look is recorded.</span></p>
<h2>Who used it, when</h2>
${usage.length === 0 ? html`<p>Nobody in this period.</p>` : html`<table class="compact">
<thead><tr><th scope="col">User</th><th scope="col">Source</th><th scope="col">Entries</th><th scope="col">First (UTC)</th><th scope="col">Last (UTC)</th></tr></thead>
<tbody>${[...byUser.entries()].map(([user, uses]) =>
      uses.map((u, i) => html`<tr>${i === 0 ? html`<th scope="rowgroup" rowspan="${uses.length}"><a href="/trail${query({ user, from: period.fromDate, to: period.toDate })}">${user}</a></th>` : ''}<td>${SOURCE_LABEL[u.source]}</td><td>${u.count}</td><td>${time(u.first)}</td><td>${time(u.last)}</td></tr>\n`),
    )}</tbody></table>`}
<h2>Who looked at this app here</h2>
${accessTable(accesses, 'Looks at this app through the auditor\'s view', false)}`,
  );
}

export interface StatusView {
  check?: StatusCheck;
  checkError?: { at: string; message: string };
  runningSince?: string;
  anchors: { file: string; last?: AnchorEntry; count: number; problem?: string };
  runs: IngestRun[];
  findings: FileFindings[];
  accesses?: StoredAccess[];
}

export function statusPage(frame: Frame, view: StatusView): string {
  const report = view.check?.report;
  const verdict = !report
    ? html`<p class="muted" role="status">${view.runningSince ? `Checking the store since ${time(view.runningSince)} … reload in a moment.` : 'Not checked yet.'}</p>`
    : report.ok
      ? html`<p class="ok verdict" role="status">✔ Intact: the digest chain (${report.batches} entries, ${report.rows} AuditSecurity rows, ${report.trailItems ?? 0} trail items) recomputed and proven against ${report.anchorsChecked} anchor(s) kept outside the database.</p>`
      : html`<p class="bad verdict" role="alert">✘ ${report.problems.every((p) => p.kind === 'anchors-unchecked') ? 'NOT proven' : 'NOT intact'}: ${report.problems.length} problem(s).</p>`;
  return page(
    { ...frame, nav: 'status' },
    html`<h1>Store status</h1>
<section aria-labelledby="integrity">
<h2 id="integrity">Integrity (verify-store)</h2>
${verdict}
${view.check ? html`<p class="muted">Checked ${time(view.check.finishedAt)} UTC (took ${((Date.parse(view.check.finishedAt) - Date.parse(view.check.startedAt)) / 1000).toFixed(1)} s)${report?.keyed ? ', keyed chain' : ', unkeyed chain'}${report?.unanchored ? `; ${report.unanchored} entries newer than the last anchor` : ''}.</p>` : ''}
${view.checkError ? html`<p class="bad">The last check could not run (${time(view.checkError.at)}): ${view.checkError.message}</p>` : ''}
${report && report.problems.length ? html`<ul class="problems">${report.problems.slice(0, 50).map((p) => html`<li><strong>${p.kind}</strong>: ${p.detail}</li>`)}</ul>` : ''}
${view.check?.notes.length ? html`<ul class="muted">${view.check.notes.map((n) => html`<li>${n}</li>`)}</ul>` : ''}
${report?.reanchored?.length ? html`<p>Re-anchored by operators: ${report.reanchored.map((r) => html`<br>#${r.n} ${time(r.at)} by ${r.by}: ${r.reason}`)}</p>` : ''}
<form method="post" action="/status/check"><input type="hidden" name="_csrf" value="${frame.csrf ?? ''}"><button type="submit" ${view.runningSince ? html`disabled` : ''}>Check now</button></form>
</section>
<section aria-labelledby="anchors">
<h2 id="anchors">Anchors</h2>
${view.anchors.problem ? html`<p class="bad">${view.anchors.problem}</p>` : ''}
<p>Anchor log <code>${view.anchors.file}</code>: ${view.anchors.count} entr${view.anchors.count === 1 ? 'y' : 'ies'}.${view.anchors.last ? html` Latest: #${view.anchors.last.n} (${view.anchors.last.type}) ${time(view.anchors.last.at)} UTC, ${view.anchors.last.batches} entries, head <code>${view.anchors.last.chainHead.slice(0, 16)}…</code>, by ${view.anchors.last.by}.` : ''}</p>
</section>
<section aria-labelledby="runs">
<h2 id="runs">Last ingest runs</h2>
${view.runs.length === 0 ? html`<p>No ingest run yet.</p>` : html`<table class="compact"><thead><tr><th scope="col">Run</th><th scope="col">Finished (UTC)</th><th scope="col">Files</th><th scope="col">Rows stored</th><th scope="col">Findings</th></tr></thead>
<tbody>${view.runs.map((r) => html`<tr><td><code>${r.id}</code></td><td>${time(r.finishedAt ?? r.startedAt)}</td><td>${r.files}</td><td>${r.rowsStored}</td><td>${Object.entries(r.findings).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}</td></tr>\n`)}</tbody></table>`}
</section>
<section aria-labelledby="open-findings">
<h2 id="open-findings">Findings on the logs</h2>
${view.findings.length === 0 ? html`<p class="ok">No findings.</p>` : findingsTable(view.findings)}
</section>
${view.accesses ? html`<section aria-labelledby="recent-access"><h2 id="recent-access">Recent looks at the trail</h2>${accessTable(view.accesses, 'The latest looks through the auditor\'s view', true)}</section>` : ''}`,
  );
}
