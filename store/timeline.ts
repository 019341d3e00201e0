// One user's audit trail (SPEC 6.2), oldest first: Audit.qs events (what they did in the app),
// screenshot outcomes (what they saw), AuditSecurity rows (what the server recorded) and the alerts
// the detections raised about them (SPEC 7), matched on UserDirectory/UserId. Each source is read in pages along its (user, time) index and the three are
// merged as they stream, so a user with millions of entries costs three small queries at a time.
import type { Sql } from './store';

export type TimelineSource = 'audit-qs' | 'screenshot' | 'security-log' | 'alert';

export interface TimelineEntry {
  time: string;
  source: TimelineSource;
  type: string;
  app: string;
  detail: string;
  user: string;
  [key: string]: unknown;
}

export interface TimelineQuery {
  userDirectory: string;
  userId: string;
  /** Inclusive, ISO 8601 (or anything PostgreSQL reads as timestamptz). */
  from?: string;
  /** Exclusive. */
  to?: string;
  pageSize?: number;
  /** Only these sources (all three when absent). */
  sources?: readonly TimelineSource[];
}

/** Screenshot events are shown once, as their outcome (source `screenshot`). */
const SCREENSHOT_TYPE = 'screenshot.url.received';
/** What Qlik writes where a field has no value. */
export const NOT_AVAILABLE = 'Not available';

/** A timestamp from PostgreSQL (a Date, or text) as an ISO instant. */
export const iso = (value: unknown): string => (value instanceof Date ? value : new Date(String(value))).toISOString();
const clip = (text: string, max = 200) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const present = (value: unknown): value is string => typeof value === 'string' && value !== '' && value !== NOT_AVAILABLE;

interface Source<R> {
  /** SQL after SELECT … FROM, with $1 user dir, $2 user id, $3 to, then the cursor params, then LIMIT. */
  sql: string;
  cursor(row: R): unknown[];
  start: unknown[];
  entry(row: R, user: string): TimelineEntry;
}

interface EventRowOut {
  event_id: string; type: string; event_time: Date | string; app_id: string | null; app_name: string | null;
  sheet_name: string | null; correlation_id: string | null; event: unknown;
}
const auditQs: Source<EventRowOut> = {
  sql: `SELECT event_id, type, event_time, app_id, app_name, sheet_name, correlation_id, envelope->'payload'->'event' AS event
        FROM audit_events
        WHERE user_directory = $1 AND user_id = $2 AND event_time < $3 AND type <> '${SCREENSHOT_TYPE}'
          AND (event_time, event_id) > ($4::timestamptz, $5::text)
        ORDER BY event_time, event_id LIMIT $6`,
  cursor: (r) => [r.event_time, r.event_id],
  start: [''],
  entry: (r, user) => ({
    time: iso(r.event_time),
    source: 'audit-qs',
    type: r.type,
    app: r.app_name ?? r.app_id ?? '',
    detail: clip([r.sheet_name ? `sheet ${r.sheet_name}` : '', r.event && typeof r.event === 'object' && Object.keys(r.event).length > 0 ? JSON.stringify(r.event) : ''].filter(Boolean).join('; ')),
    user,
    eventId: r.event_id,
    ...(r.app_id ? { appId: r.app_id } : {}),
    ...(r.sheet_name ? { sheet: r.sheet_name } : {}),
    ...(r.correlation_id ? { correlationId: r.correlation_id } : {}),
    reportedBy: 'browser',
  }),
};

interface OutcomeRowOut {
  run_id: string; workflow_id: string; event_id: string; status: string; reason: string | null; saved_paths: string[];
  sha256: string | null; bytes: string | number | null; content_type: string | null; event_time: Date | string; app_id: string | null; app_name: string | null;
  session_verified: boolean | null;
}
const screenshots: Source<OutcomeRowOut> = {
  sql: `SELECT run_id, workflow_id, event_id, status, reason, saved_paths, sha256, bytes, content_type, event_time, app_id, app_name, session_verified
        FROM screenshot_outcomes
        WHERE user_directory = $1 AND user_id = $2 AND event_time < $3
          AND (event_time, run_id) > ($4::timestamptz, $5::text)
        ORDER BY event_time, run_id LIMIT $6`,
  cursor: (r) => [r.event_time, r.run_id],
  start: [''],
  entry: (r, user) => ({
    time: iso(r.event_time),
    source: 'screenshot',
    type: SCREENSHOT_TYPE,
    app: r.app_name ?? r.app_id ?? '',
    detail: clip(
      r.status === 'stored'
        ? `stored ${r.saved_paths[0] ?? ''}${r.saved_paths.length > 1 ? ` (+${r.saved_paths.length - 1} more)` : ''} (${r.bytes} bytes, sha256 ${String(r.sha256).slice(0, 12)}…)`
        : `${r.status}${r.reason ? `: ${r.reason}` : ''}`,
      300,
    ),
    user,
    eventId: r.event_id,
    workflowId: r.workflow_id,
    runId: r.run_id,
    status: r.status,
    ...(r.reason ? { reason: r.reason } : {}),
    files: r.saved_paths,
    ...(r.sha256 ? { sha256: r.sha256, bytes: Number(r.bytes), contentType: r.content_type } : {}),
    // The event that asked for it is the browser's word; QPS's answer on the user's session is ours.
    reportedBy: 'browser',
    sessionVerified: r.session_verified,
  }),
};

interface SecurityRowOut {
  ts_utc: Date | string; machine: string; service: string; file_name: string; line: number; sequence: string | number; checksum: string;
  command: string | null; description: string | null; result: string | null; message: string | null; object_name: string | null;
  security_class: string | null; checksum_valid: boolean; header_ok: boolean;
}
/**
 * One page of a user's AuditSecurity rows, oldest first, along the (user, time) index: parameters
 * $1 user directory, $2 user id, $3 until (exclusive), $4–$8 the cursor (SECURITY_ROWS_START to
 * begin, then securityRowsCursor of the last row), $9 the page size. The timeline and evidence
 * bundles read them this way.
 */
export const securityRowsPage = (columns: string) => `SELECT ${columns}
  FROM audit_rows
  WHERE user_directory = $1 AND user_id = $2 AND ts_utc < $3
    AND (ts_utc, machine, service, sequence, checksum) > ($4::timestamptz, $5::text, $6::text, $7::bigint, $8::text)
  ORDER BY ts_utc, machine, service, sequence, checksum LIMIT $9`;
/** After the `from` time: the cursor's other columns before any row. */
export const SECURITY_ROWS_START = ['', '', -1, ''];
export const securityRowsCursor = (last: object): unknown[] => {
  const r = last as Record<string, unknown>;
  return [r.ts_utc, r.machine, r.service, r.sequence, r.checksum];
};

const securityLog: Source<SecurityRowOut> = {
  sql: securityRowsPage('ts_utc, machine, service, file_name, line, sequence, checksum, command, description, result, message, object_name, security_class, checksum_valid, header_ok'),
  cursor: securityRowsCursor,
  start: SECURITY_ROWS_START,
  entry: (r, user) => {
    const trust = !r.checksum_valid ? 'checksum INVALID' : !r.header_ok ? 'header not Qlik\'s layout' : 'checksum ok';
    return {
      time: iso(r.ts_utc),
      source: 'security-log',
      type: r.command || r.security_class || 'audit',
      app: present(r.object_name) ? r.object_name : '',
      detail: clip(`result ${r.result ?? '?'}${present(r.message) ? `: ${r.message}` : ''} [${r.machine}/${r.service} #${r.sequence}, ${trust}]`, 300),
      user,
      machine: r.machine,
      service: r.service,
      file: r.file_name,
      line: r.line,
      sequence: Number(r.sequence),
      result: r.result,
      checksumValid: r.checksum_valid,
      headerOk: r.header_ok,
      reportedBy: 'qlik',
    };
  },
};

interface AlertRowOut {
  id: string; rule: string; severity: string; alert_key: string; summary: string; first_seen: Date | string; last_seen: Date | string; count: number;
}
/** Alerts of the detections about this user (SPEC 7), at the time they were raised for (the window's last row). */
const alerts: Source<AlertRowOut> = {
  sql: `SELECT id, rule, severity, alert_key, summary, first_seen, last_seen, count
        FROM audit_alerts
        WHERE user_directory = $1 AND user_id = $2 AND first_seen < $3
          AND (first_seen, id) > ($4::timestamptz, $5::bigint)
        ORDER BY first_seen, id LIMIT $6`,
  cursor: (r) => [r.first_seen, r.id],
  start: [-1],
  entry: (r, user) => ({
    time: iso(r.first_seen),
    source: 'alert',
    type: r.rule,
    app: '',
    detail: clip(`${r.severity}: ${r.summary}`, 300),
    user,
    alertId: String(r.id),
    severity: r.severity,
    key: r.alert_key,
    count: r.count,
    lastSeen: iso(r.last_seen),
    reportedBy: 'qlik-audit',
  }),
};

/** One source's entries in time order, page by page along its index. */
async function* readSource<R>(sql: Sql, source: Source<R>, query: TimelineQuery, user: string): AsyncGenerator<TimelineEntry> {
  const pageSize = query.pageSize ?? 2000;
  let cursor: unknown[] = [query.from ?? '-infinity', ...source.start];
  for (;;) {
    const { rows } = await sql.query<R>(source.sql, [query.userDirectory, query.userId, query.to ?? 'infinity', ...cursor, pageSize]);
    for (const row of rows) yield source.entry(row, user);
    if (rows.length < pageSize) return;
    cursor = source.cursor(rows[rows.length - 1] as R);
  }
}

const ORDER: Record<TimelineSource, number> = { 'audit-qs': 0, screenshot: 1, 'security-log': 2, alert: 3 };

/** The merged stream, oldest first (at the same instant: Audit.qs, screenshot, security log). */
export async function* timeline(sql: Sql, query: TimelineQuery): AsyncGenerator<TimelineEntry> {
  const user = `${query.userDirectory}\\${query.userId}`;
  const wanted = (source: TimelineSource) => !query.sources || query.sources.includes(source);
  const readers = [
    ...(wanted('audit-qs') ? [readSource(sql, auditQs, query, user)] : []),
    ...(wanted('screenshot') ? [readSource(sql, screenshots, query, user)] : []),
    ...(wanted('security-log') ? [readSource(sql, securityLog, query, user)] : []),
    ...(wanted('alert') ? [readSource(sql, alerts, query, user)] : []),
  ];
  const heads = await Promise.all(readers.map(async (it) => ({ it, next: await it.next() })));
  for (;;) {
    let best: (typeof heads)[number] | undefined;
    for (const head of heads) {
      if (head.next.done) continue;
      const entry = head.next.value;
      const current = best?.next.value as TimelineEntry | undefined;
      if (!current || entry.time < current.time || (entry.time === current.time && ORDER[entry.source] < ORDER[current.source])) best = head;
    }
    if (!best) return;
    yield best.next.value as TimelineEntry;
    best.next = await best.it.next();
  }
}

/** Where a page starts: after the first `skip` entries at `time` (entries at one instant keep their order). */
export interface TimelineCursor {
  time: string;
  skip: number;
}

export interface TimelinePage {
  entries: TimelineEntry[];
  /** The next page's cursor, when there is more. */
  next?: TimelineCursor;
}

/**
 * One page of the merged timeline from `after` on (the auditor's view pages a year of a busy user
 * this way: each page costs a few index reads, however deep it is). `types`: only entries of these
 * types (read on until the page is full).
 */
export async function timelinePage(sql: Sql, query: TimelineQuery, options: { size: number; after?: TimelineCursor; types?: readonly string[] }): Promise<TimelinePage> {
  const after = options.after;
  const from = after && (!query.from || after.time > query.from) ? after.time : query.from;
  const skip = after && from === after.time ? after.skip : 0;
  const entries: TimelineEntry[] = [];
  // Where we are in the unfiltered stream: the instant, and how many entries at it were read.
  let at = from ?? '';
  let readAt = 0;
  // Each source reads what one page can need in one query.
  for await (const entry of timeline(sql, { ...query, from, pageSize: Math.min(2000, options.size + skip + 1) })) {
    if (entry.time !== at) {
      at = entry.time;
      readAt = 0;
    }
    readAt++;
    if (entry.time === from && readAt <= skip) continue;
    if (options.types && options.types.length > 0 && !options.types.includes(entry.type)) continue;
    // One more than a page: the next page starts here.
    if (entries.length === options.size) return { entries, next: { time: entry.time, skip: readAt - 1 } };
    entries.push(entry);
  }
  return { entries };
}
