// What the auditor's view looks up beside the timeline: the users and apps the store knows (search
// suggestions), who used an app and when, one screenshot outcome, the last ingest runs and the error
// findings. Distinct users and apps are read by skipping along their index (one probe per value),
// so a store of millions of rows answers in milliseconds.
import type { Sql } from './store';
import { iso } from './timeline';

export interface KnownUser {
  userDirectory: string;
  userId: string;
}

/** Distinct (directory, id) pairs of one table along its (user_directory, user_id, …) index, at most `limit`. */
async function distinctUsers(sql: Sql, table: string, limit: number): Promise<KnownUser[]> {
  const { rows } = await sql.query<{ d: string; i: string }>(
    `WITH RECURSIVE u(d, i, n) AS (
       (SELECT user_directory, user_id, 1 FROM ${table} WHERE user_id IS NOT NULL AND user_directory IS NOT NULL ORDER BY user_directory, user_id LIMIT 1)
       UNION ALL
       SELECT x.user_directory, x.user_id, u.n + 1 FROM u, LATERAL (
         SELECT user_directory, user_id FROM ${table}
         WHERE (user_directory, user_id) > (u.d, u.i) AND user_id IS NOT NULL
         ORDER BY user_directory, user_id LIMIT 1) x
       WHERE u.n < $1
     )
     SELECT d, i FROM u`,
    [limit],
  );
  return rows.map((r) => ({ userDirectory: r.d, userId: r.i }));
}

/** Every user with an event, a screenshot or an AuditSecurity row (at most `limit` per source), sorted. */
export async function knownUsers(sql: Sql, limit = 5000): Promise<KnownUser[]> {
  const all = new Map<string, KnownUser>();
  for (const table of ['audit_events', 'screenshot_outcomes', 'audit_rows']) {
    for (const user of await distinctUsers(sql, table, limit)) all.set(`${user.userDirectory}\\${user.userId}`, user);
  }
  return [...all.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, user]) => user);
}

export interface KnownApp {
  appId: string;
  appName: string;
}

/** Distinct apps of the Audit.qs events and screenshots (id and latest name), at most `limit`. */
export async function knownApps(sql: Sql, limit = 2000): Promise<KnownApp[]> {
  const all = new Map<string, string>();
  for (const table of ['audit_events', 'screenshot_outcomes']) {
    const { rows } = await sql.query<{ a: string; name: string | null }>(
      `WITH RECURSIVE a(id, n) AS (
         (SELECT app_id, 1 FROM ${table} WHERE app_id IS NOT NULL ORDER BY app_id LIMIT 1)
         UNION ALL
         SELECT x.app_id, a.n + 1 FROM a, LATERAL (SELECT app_id FROM ${table} WHERE app_id > a.id ORDER BY app_id LIMIT 1) x
         WHERE a.n < $1
       )
       SELECT id AS a, (SELECT app_name FROM ${table} t WHERE t.app_id = a.id ORDER BY event_time DESC LIMIT 1) AS name FROM a`,
      [limit],
    );
    for (const row of rows) if (!all.get(row.a)) all.set(row.a, row.name ?? '');
  }
  return [...all.entries()].map(([appId, appName]) => ({ appId, appName })).sort((a, b) => (a.appName || a.appId).localeCompare(b.appName || b.appId));
}

export interface AppUse {
  userDirectory: string;
  userId: string;
  source: 'audit-qs' | 'screenshot' | 'security-log';
  count: number;
  first: string;
  last: string;
}


/** Who used an app in a period, per user and source, most recent first: events, screenshots, and Qlik's own rows on the app (ObjectId). */
export async function appUsage(sql: Sql, appId: string, period: { from?: string; to?: string }, limit = 500): Promise<AppUse[]> {
  const params = [appId, period.from ?? '-infinity', period.to ?? 'infinity', limit];
  const per = (table: string, time: string, key: string, source: AppUse['source']) => `
    SELECT user_directory, user_id, '${source}' AS source, count(*) AS count, min(${time}) AS first, max(${time}) AS last
    FROM ${table} WHERE ${key} = $1 AND ${time} >= $2::timestamptz AND ${time} < $3::timestamptz AND user_id IS NOT NULL
    GROUP BY user_directory, user_id`;
  const { rows } = await sql.query<{ user_directory: string; user_id: string; source: AppUse['source']; count: string; first: Date; last: Date }>(
    `${per('audit_events', 'event_time', 'app_id', 'audit-qs')} UNION ALL ${per('screenshot_outcomes', 'event_time', 'app_id', 'screenshot')} UNION ALL ${per('audit_rows', 'ts_utc', 'object_id', 'security-log')}
     ORDER BY last DESC LIMIT $4`,
    params,
  );
  return rows.map((r) => ({ userDirectory: r.user_directory, userId: r.user_id, source: r.source, count: Number(r.count), first: iso(r.first), last: iso(r.last) }));
}

export interface OutcomeFacts {
  runId: string;
  workflowId: string;
  eventId: string;
  status: string;
  reason: string | null;
  savedPaths: string[];
  sha256: string | null;
  bytes: number | null;
  contentType: string | null;
  eventTime: string;
  userDirectory: string | null;
  userId: string | null;
  appId: string | null;
  appName: string | null;
  sheetName: string | null;
  sessionVerified: boolean | null;
  finishedAt: string;
}

/** One screenshot run's outcome with the sheet it was taken on (from its event). */
export async function outcomeFacts(sql: Sql, runId: string): Promise<OutcomeFacts | undefined> {
  const { rows } = await sql.query<Record<string, unknown>>(
    `SELECT o.*, e.sheet_name FROM screenshot_outcomes o LEFT JOIN audit_events e ON e.event_id = o.event_id WHERE o.run_id = $1`,
    [runId],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    runId: String(r.run_id), workflowId: String(r.workflow_id), eventId: String(r.event_id), status: String(r.status), reason: (r.reason as string | null) ?? null,
    savedPaths: (r.saved_paths as string[]) ?? [], sha256: (r.sha256 as string | null) ?? null, bytes: r.bytes == null ? null : Number(r.bytes),
    contentType: (r.content_type as string | null) ?? null, eventTime: iso(r.event_time), userDirectory: (r.user_directory as string | null) ?? null,
    userId: (r.user_id as string | null) ?? null, appId: (r.app_id as string | null) ?? null, appName: (r.app_name as string | null) ?? null,
    sheetName: (r.sheet_name as string | null) ?? null, sessionVerified: (r.session_verified as boolean | null) ?? null, finishedAt: iso(r.finished_at),
  };
}

export interface IngestRun {
  id: string;
  startedAt: string;
  finishedAt: string | null;
  files: number;
  rowsStored: number;
  findings: Record<string, number>;
}

export async function lastIngestRuns(sql: Sql, limit = 10): Promise<IngestRun[]> {
  const { rows } = await sql.query<{ id: string; started_at: Date; finished_at: Date | null; files: number; rows_stored: number; findings: Record<string, number> }>(
    'SELECT id, started_at, finished_at, files, rows_stored, findings FROM ingest_runs ORDER BY coalesce(finished_at, started_at) DESC LIMIT $1',
    [limit],
  );
  return rows.map((r) => ({ id: r.id, startedAt: iso(r.started_at), finishedAt: r.finished_at ? iso(r.finished_at) : null, files: r.files, rowsStored: r.rows_stored, findings: r.findings }));
}

export interface FileFindings {
  machine: string;
  service: string;
  fileName: string;
  kind: string;
  severity: string;
  count: number;
  firstLine: number;
  detail: string;
  at: string;
}

/** Findings per file and kind (errors first, newest first): what is open on the logs. */
export async function findingsByFile(sql: Sql, options: { files?: { machine: string; service: string; fileName: string }[]; limit?: number } = {}): Promise<FileFindings[]> {
  const files = options.files;
  if (files && files.length === 0) return [];
  const { rows } = await sql.query<{ machine: string; service: string; file_name: string; kind: string; severity: string; count: string; first_line: number; detail: string; at: Date }>(
    `SELECT machine, service, file_name, kind, severity, count(*) AS count, min(line) AS first_line, (array_agg(detail ORDER BY line))[1] AS detail, max(created_at) AS at
     FROM audit_findings
     ${files ? `WHERE (machine, service, file_name) IN (SELECT * FROM unnest($2::text[], $3::text[], $4::text[]))` : ''}
     GROUP BY machine, service, file_name, kind, severity
     ORDER BY severity = 'error' DESC, max(created_at) DESC LIMIT $1`,
    files ? [options.limit ?? 200, files.map((f) => f.machine), files.map((f) => f.service), files.map((f) => f.fileName)] : [options.limit ?? 200],
  );
  return rows.map((r) => ({ machine: r.machine, service: r.service, fileName: r.file_name, kind: r.kind, severity: r.severity, count: Number(r.count), firstLine: r.first_line, detail: r.detail, at: iso(r.at) }));
}

export interface RowLine {
  machine: string;
  service: string;
  file: string;
  line: number;
}

/** The findings at these rows' lines, as `kind (severity)` by `machine/service/file:line`. */
export async function findingsAtLines(sql: Sql, lines: RowLine[]): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  if (lines.length === 0) return found;
  const { rows } = await sql.query<{ machine: string; service: string; file_name: string; line: number; kind: string; severity: string }>(
    `SELECT machine, service, file_name, line, kind, severity FROM audit_findings
     WHERE (machine, service, file_name, line) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[]))`,
    [lines.map((l) => l.machine), lines.map((l) => l.service), lines.map((l) => l.file), lines.map((l) => l.line)],
  );
  for (const r of rows) {
    const key = `${r.machine}/${r.service}/${r.file_name}:${r.line}`;
    found.set(key, [...(found.get(key) ?? []), `${r.kind} (${r.severity})`]);
  }
  return found;
}

/** The latest name of an app (by id), from its events or screenshots. */
export async function appName(sql: Sql, appId: string): Promise<string | undefined> {
  const { rows } = await sql.query<{ name: string | null }>(
    `SELECT name FROM (
       (SELECT app_name AS name, event_time FROM audit_events WHERE app_id = $1 AND app_name IS NOT NULL ORDER BY event_time DESC LIMIT 1)
       UNION ALL
       (SELECT app_name, event_time FROM screenshot_outcomes WHERE app_id = $1 AND app_name IS NOT NULL ORDER BY event_time DESC LIMIT 1)
     ) n ORDER BY event_time DESC LIMIT 1`,
    [appId],
  );
  return rows[0]?.name ?? undefined;
}
