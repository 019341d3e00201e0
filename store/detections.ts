// Detections over the stored trail (SPEC 7). Each run reads what was stored since its checkpoint —
// the chain entries after the last one it read, so a backfill and a quiet minute cost what they
// hold, never a scan — in slices, each one transaction under the chain's lock: its signals, the
// alerts they raise (chain entries like any trail item) and the checkpoint commit together, so a
// crash re-reads a slice and finds what it had already stored (signals are keyed by their row, an
// alert is suppressed by the one it already raised).
//
// Rules (built on Qlik's AuditSecurity fields: Command, Result, UserDirectory/UserId,
// ClientHostAddress, ObjectName; and on our screenshot outcomes and findings):
//   failedLogins          ≥ threshold failed logins for one user, or from one client address, within the window
//   accessDenied          ≥ threshold refused access checks (Result ≠ 0) for one user, on any objects
//   serviceAccountRemote  an INTERNAL\sa_* account acting from a client address that is not this machine's
//   newClientAddress      a user's first row from an address, once their learning period is over
//   integrity             error findings of ingestion, a chain that stopped growing (and verify-store, in the activity)
//   screenshotRefusals    ≥ threshold blocked downloads, or refused identities / sessions, within the window
import type { DetectionRules } from '../common/config';
import { DIGEST_CHAIN_LOCK, type DigestKey } from './digest';
import type { AuditStore, Sql } from './store';
import { iso, NOT_AVAILABLE } from './timeline';
import { appendTrailEntry, nextEntry, TRAIL_SOURCES } from './trail-chain';

export type Severity = 'low' | 'medium' | 'high' | 'critical';
export type RuleName = keyof DetectionRules | 'test';

export interface Evidence {
  source: 'security-log' | 'finding' | 'screenshot' | 'verify-store' | 'ingest';
  id: string;
}

export interface NewAlert {
  rule: RuleName;
  severity: Severity;
  key: string;
  summary: string;
  firstSeen: string;
  lastSeen: string;
  count: number;
  evidence: Evidence[];
  user?: { userDirectory: string; userId: string };
}

/** The alert as it is sent (SPEC 7): what was raised, and its id in the store. */
export type Alert = Omit<NewAlert, 'user'> & { id: string };

export interface DetectionSettings {
  rules: DetectionRules;
  suppressionMinutes: number;
  key: DigestKey | undefined;
  /** Rows per slice (one transaction). */
  sliceRows?: number;
}

export interface DetectionRun {
  alerts: Alert[];
  rows: number;
  findings: number;
  outcomes: number;
  /** The last chain entry read. */
  checkpoint: number;
  slices: number;
}

/** At most this many evidence ids per alert (the count says how many there were). */
const EVIDENCE_MAX = 50;
const LOGIN_COMMAND = /^(log ?in|logon|authenticat)/i;
const LOGIN_DENIED = /login access denied/i;
const ACCESS_CHECK = /access|security|rule|privilege/i;

/** The client's address without port, brackets or zone ("[fe80::1%16]:51248" → "fe80::1"); '' when Qlik wrote none. */
export function clientAddress(text: string | null | undefined): string {
  if (!text || text === NOT_AVAILABLE) return '';
  let host = text.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (bracketed) host = bracketed[1] as string;
  else if (/^[^:]+:\d+$/.test(host)) host = host.slice(0, host.lastIndexOf(':'));
  host = host.replace(/%.*$/, '').replace(/^::ffff:/i, '');
  return host.toLowerCase();
}

const isLocalAddress = (address: string) => address === '::1' || address === 'localhost' || /^127\./.test(address);

interface Row {
  machine: string; service: string; sequence: string; checksum: string; ts_utc: Date | null; user_directory: string | null; user_id: string | null;
  command: string | null; result: string | null; message: string | null; client_host_address: string | null;
}
interface Signal {
  rule: 'failedLogins' | 'accessDenied' | 'screenshotRefusals';
  key: string;
  at: string;
  ref: string;
  source: Evidence['source'];
  user?: { userDirectory: string; userId: string };
}

const rowRef = (r: Row) => `${r.machine}/${r.service}/${r.sequence}/${r.checksum}`;

export async function readState<T>(sql: Sql, name: string): Promise<T | undefined> {
  const { rows } = await sql.query<{ value: T }>('SELECT value FROM detection_state WHERE name = $1', [name]);
  return rows[0]?.value;
}

export async function writeState(sql: Sql, name: string, value: unknown): Promise<void> {
  await sql.query(
    `INSERT INTO detection_state (name, value, updated_at) VALUES ($1, $2::jsonb, now())
     ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
    [name, JSON.stringify(value)],
  );
}

/** Signals and immediate candidates of one slice's AuditSecurity rows. */
function classifyRows(rows: Row[], rules: DetectionRules, signals: Signal[], candidates: NewAlert[]) {
  const allowed = new Set(rules.serviceAccountRemote.allowedAddresses.map(clientAddress));
  for (const r of rows) {
    if (!r.ts_utc) continue;
    const at = iso(r.ts_utc);
    const user = r.user_directory && r.user_id ? { userDirectory: r.user_directory, userId: r.user_id } : undefined;
    const who = user ? `${user.userDirectory}\\${user.userId}` : '';
    const address = clientAddress(r.client_host_address);
    const failed = r.result !== null && r.result !== '' && r.result !== '0';
    const command = r.command ?? '';
    const isLogin = LOGIN_COMMAND.test(command) || LOGIN_DENIED.test(r.message ?? '');
    if (failed && isLogin) {
      if (rules.failedLogins.enable) {
        if (who) signals.push({ rule: 'failedLogins', key: `user ${who}`, at, ref: rowRef(r), source: 'security-log', user });
        if (address) signals.push({ rule: 'failedLogins', key: `address ${address}`, at, ref: rowRef(r), source: 'security-log' });
      }
    } else if (failed && (ACCESS_CHECK.test(command) || /denied/i.test(r.message ?? '')) && rules.accessDenied.enable && who) {
      // Per user, whatever the object: someone probing many apps and streams crosses the threshold (the rows name the objects).
      signals.push({ rule: 'accessDenied', key: `user ${who}`, at, ref: rowRef(r), source: 'security-log', user });
    }
    const rule = rules.serviceAccountRemote;
    if (rule.enable && user && user.userDirectory.toUpperCase() === 'INTERNAL' && /^sa_/i.test(user.userId) && address && !isLocalAddress(address) && !allowed.has(address)) {
      candidates.push({
        rule: 'serviceAccountRemote',
        severity: rule.severity,
        key: `${who} from ${address}`,
        summary: `Qlik service account ${who} acted from ${address}, not from a Qlik Sense node (${command || 'a command'}, result ${r.result ?? '?'})`,
        firstSeen: at,
        lastSeen: at,
        count: 1,
        evidence: [{ source: 'security-log', id: rowRef(r) }],
        user,
      });
    }
  }
}

/** Windowed counting: for each key, every point where the window holds ≥ threshold (one per suppression period). */
async function countingCandidates(sql: Sql, signals: Signal[], settings: DetectionSettings, candidates: NewAlert[]) {
  if (signals.length === 0) return;
  await sql.query(
    `INSERT INTO detection_signals (rule, signal_key, at, ref, source)
     SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[]) ON CONFLICT DO NOTHING`,
    [signals.map((s) => s.rule), signals.map((s) => s.key), signals.map((s) => s.at), signals.map((s) => s.ref), signals.map((s) => s.source)],
  );
  const touched = new Map<string, { rule: Signal['rule']; key: string; from: number; to: number; user?: Signal['user'] }>();
  for (const s of signals) {
    const id = `${s.rule}\u0000${s.key}`;
    const t = Date.parse(s.at);
    const known = touched.get(id);
    if (!known) touched.set(id, { rule: s.rule, key: s.key, from: t, to: t, user: s.user });
    else {
      known.from = Math.min(known.from, t);
      known.to = Math.max(known.to, t);
    }
  }
  const suppressionMs = settings.suppressionMinutes * 60_000;
  const keys = [...touched.values()];
  const fresh = new Set(signals.map((sg) => `${sg.rule}\u0000${sg.key}\u0000${sg.ref}`));
  // Every touched key's signals around this slice's — a window may end after them, when another
  // node's rows came first — and its alerts near them, in two queries (not two per key).
  const windowOf = (k: (typeof keys)[number]) => settings.rules[k.rule].windowSeconds * 1000;
  const { rows: all } = await sql.query<{ rule: string; signal_key: string; at: Date; ref: string; source: Evidence['source'] }>(
    `SELECT s.rule, s.signal_key, s.at, s.ref, s.source
     FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[]) AS k(rule, signal_key, since, until)
     JOIN detection_signals s ON s.rule = k.rule AND s.signal_key = k.signal_key AND s.at > k.since AND s.at < k.until
     ORDER BY s.rule, s.signal_key, s.at, s.ref`,
    [keys.map((k) => k.rule), keys.map((k) => k.key), keys.map((k) => new Date(k.from - windowOf(k)).toISOString()), keys.map((k) => new Date(k.to + windowOf(k)).toISOString())],
  );
  const byKey = new Map<string, typeof all>();
  for (const r of all) {
    const id = `${r.rule}\u0000${r.signal_key}`;
    let list = byKey.get(id);
    if (!list) byKey.set(id, (list = []));
    list.push(r);
  }
  const alertTimes = await alertsNear(sql, keys.map((k) => ({ rule: k.rule, key: k.key, from: k.from - windowOf(k) - suppressionMs, to: k.to + windowOf(k) + suppressionMs })));
  for (const k of keys) {
    const rule = settings.rules[k.rule];
    const windowMs = windowOf(k);
    const rows = byKey.get(`${k.rule}\u0000${k.key}`) ?? [];
    if (rows.length < rule.threshold) continue;
    const raised = [...(alertTimes.get(`${k.rule}\u0000${k.key}`) ?? [])];
    const isNew = rows.map((r) => fresh.has(`${r.rule}\u0000${r.signal_key}\u0000${r.ref}`));
    let start = 0;
    let newInWindow = 0;
    for (let end = 0; end < rows.length; end++) {
      const t = (rows[end] as { at: Date }).at.getTime();
      if (isNew[end]) newInWindow++;
      while (t - (rows[start] as { at: Date }).at.getTime() >= windowMs) {
        if (isNew[start]) newInWindow--;
        start++;
      }
      const count = end - start + 1;
      // A window this slice's signals are in (the others were judged before), not within the
      // suppression period of an alert of this key on either side.
      if (count >= rule.threshold && newInWindow > 0 && !raised.some((a) => Math.abs(t - a) < Math.max(suppressionMs, 1))) {
        const window = rows.slice(start, end + 1);
        candidates.push({
          rule: k.rule,
          severity: rule.severity,
          key: k.key,
          summary: summaryOf(k.rule, k.key, count, rule.windowSeconds),
          firstSeen: iso(window[0]?.at),
          lastSeen: iso(window[window.length - 1]?.at),
          count,
          evidence: window.slice(0, EVIDENCE_MAX).map((w) => ({ source: w.source, id: w.ref })),
          user: k.user,
        });
        raised.push(t);
      }
    }
  }
}

/** The alert times (last_seen) of each (rule, key) within its range, in one query. */
async function alertsNear(sql: Sql, keys: { rule: string; key: string; from: number; to: number }[]): Promise<Map<string, number[]>> {
  const { rows } = await sql.query<{ rule: string; alert_key: string; last_seen: Date }>(
    `SELECT a.rule, a.alert_key, a.last_seen
     FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[]) AS k(rule, alert_key, since, until)
     JOIN audit_alerts a ON a.rule = k.rule AND a.alert_key = k.alert_key AND a.last_seen > k.since AND a.last_seen < k.until`,
    [keys.map((k) => k.rule), keys.map((k) => k.key), keys.map((k) => new Date(k.from).toISOString()), keys.map((k) => new Date(k.to).toISOString())],
  );
  const times = new Map<string, number[]>();
  for (const r of rows) {
    const id = `${r.rule}\u0000${r.alert_key}`;
    const list = times.get(id);
    if (list) list.push(r.last_seen.getTime());
    else times.set(id, [r.last_seen.getTime()]);
  }
  return times;
}

function summaryOf(rule: Signal['rule'], key: string, count: number, windowSeconds: number): string {
  const within = windowSeconds % 60 === 0 ? `${windowSeconds / 60} min` : `${windowSeconds} s`;
  if (rule === 'failedLogins') return `${count} failed logins within ${within} for ${key.replace(/^user /, 'user ').replace(/^address /, 'client address ')}`;
  if (rule === 'accessDenied') return `${count} refused access checks within ${within} for ${key}`;
  return `${count} screenshot refusals (${key}) within ${within}: someone may be probing the allow-list or posting for users who are not signed in`;
}

/** Whether an alert of this rule and key lies within `ms` of `at`, on either side (by the time of its rows). */
async function alertWithin(sql: Sql, rule: string, key: string, at: number, ms: number): Promise<boolean> {
  const { rows } = await sql.query('SELECT 1 FROM audit_alerts WHERE rule = $1 AND alert_key = $2 AND last_seen > $3 AND last_seen < $4 LIMIT 1', [rule, key, new Date(at - ms).toISOString(), new Date(at + ms).toISOString()]);
  return rows.length > 0;
}

/** A user's first row from an address, once the user has been seen for longer than the learning period. */
async function newAddressCandidates(sql: Sql, rows: Row[], rules: DetectionRules, candidates: NewAlert[]) {
  const rule = rules.newClientAddress;
  if (!rule.enable) return;
  const seen = new Map<string, { user: { userDirectory: string; userId: string }; address: string; at: string; ref: string }>();
  for (const r of rows) {
    const address = clientAddress(r.client_host_address);
    if (!address || !r.user_directory || !r.user_id || !r.ts_utc) continue;
    const id = `${r.user_directory}\\${r.user_id}\u0000${address}`;
    if (!seen.has(id)) seen.set(id, { user: { userDirectory: r.user_directory, userId: r.user_id }, address, at: iso(r.ts_utc), ref: rowRef(r) });
  }
  if (seen.size === 0) return;
  const items = [...seen.values()];
  const { rows: added } = await sql.query<{ user_directory: string; user_id: string; address: string }>(
    `INSERT INTO client_addresses (user_directory, user_id, address, first_seen)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) ON CONFLICT DO NOTHING
     RETURNING user_directory, user_id, address`,
    [items.map((i) => i.user.userDirectory), items.map((i) => i.user.userId), items.map((i) => i.address), items.map((i) => i.at)],
  );
  if (added.length === 0) return;
  // When each of these users was first seen from anywhere (the rows just added included).
  const { rows: firsts } = await sql.query<{ user_directory: string; user_id: string; first: Date }>(
    `SELECT c.user_directory, c.user_id, min(c.first_seen) AS first
     FROM client_addresses c JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::text[]) AS u(user_directory, user_id)) u USING (user_directory, user_id)
     GROUP BY 1, 2`,
    [added.map((a) => a.user_directory), added.map((a) => a.user_id)],
  );
  const firstSeen = new Map(firsts.map((f) => [`${f.user_directory}\\${f.user_id}`, f.first.getTime()]));
  for (const a of added) {
    const item = seen.get(`${a.user_directory}\\${a.user_id}\u0000${a.address}`);
    if (!item) continue;
    const learnedFor = Date.parse(item.at) - (firstSeen.get(`${a.user_directory}\\${a.user_id}`) ?? Date.parse(item.at));
    if (learnedFor < rule.learningDays * 86_400_000 || learnedFor <= 0) continue;
    const who = `${a.user_directory}\\${a.user_id}`;
    candidates.push({ rule: 'newClientAddress', severity: rule.severity, key: `${who} from ${a.address}`, summary: `${who} signed in from ${a.address} for the first time`, firstSeen: item.at, lastSeen: item.at, count: 1, evidence: [{ source: 'security-log', id: item.ref }], user: item.user });
  }
}

/** Stores the candidates not suppressed (same rule and key within suppressionMinutes of the last), each one chain entry. */
export async function storeAlerts(sql: Sql, candidates: NewAlert[], settings: Pick<DetectionSettings, 'suppressionMinutes' | 'key'>, runId: string): Promise<Alert[]> {
  const stored: Alert[] = [];
  for (const c of candidates) {
    // By the time that raised it (event time: a backfill of last year suppresses as live data would),
    // on either side (rows of a node that lagged arrive after later ones); a slice read again after a
    // crash raises the same alert at the same time: suppressed too.
    if (await alertWithin(sql, c.rule, c.key, Date.parse(c.lastSeen), Math.max(settings.suppressionMinutes * 60_000, 1))) continue;
    const entry = await nextEntry(sql);
    const { rows } = await sql.query<Record<string, unknown>>(
      `INSERT INTO audit_alerts (rule, severity, alert_key, summary, first_seen, last_seen, count, evidence, user_directory, user_id, batch_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11) RETURNING *`,
      [c.rule, c.severity, c.key, c.summary, c.firstSeen, c.lastSeen, c.count, JSON.stringify(c.evidence), c.user?.userDirectory ?? null, c.user?.userId ?? null, entry.id],
    );
    await appendTrailEntry(sql, TRAIL_SOURCES.alerts, entry, rows, { key: settings.key, runId });
    stored.push(alertOf(rows[0] as Record<string, unknown>));
  }
  return stored;
}

function alertOf(row: Record<string, unknown>): Alert {
  return {
    id: String(row.id),
    rule: row.rule as RuleName,
    severity: row.severity as Severity,
    key: String(row.alert_key),
    summary: String(row.summary),
    firstSeen: iso(row.first_seen),
    lastSeen: iso(row.last_seen),
    count: Number(row.count),
    evidence: row.evidence as Evidence[],
  };
}

/** One detection run over everything stored since the checkpoint, slice by slice. */
export async function detectNew(store: AuditStore, settings: DetectionSettings, runId: string, onSlice?: (run: DetectionRun) => void): Promise<DetectionRun> {
  const run: DetectionRun = { alerts: [], rows: 0, findings: 0, outcomes: 0, checkpoint: 0, slices: 0 };
  const sliceRows = settings.sliceRows ?? 20_000;
  for (;;) {
    const more = await store.transaction(async (sql) => {
      const checkpoint = (await readState<number>(sql, 'checkpoint')) ?? 0;
      run.checkpoint = checkpoint;
      const { rows: batches } = await sql.query<{ id: string; row_count: number }>('SELECT id, row_count FROM audit_batches WHERE id > $1 ORDER BY id LIMIT 5000', [checkpoint]);
      if (batches.length === 0) return false;
      let upto = Number(batches[0]?.id);
      let rowsInSlice = 0;
      for (const b of batches) {
        if (rowsInSlice > 0 && rowsInSlice + b.row_count > sliceRows) break;
        rowsInSlice += b.row_count;
        upto = Number(b.id);
      }
      const { rules } = settings;
      const { rows } = await sql.query<Row>(
        `SELECT machine, service, sequence, checksum, ts_utc, user_directory, user_id, command, result, message, client_host_address
         FROM audit_rows WHERE batch_id > $1 AND batch_id <= $2 ORDER BY ts_utc, machine, service, sequence`,
        [checkpoint, upto],
      );
      const signals: Signal[] = [];
      const candidates: NewAlert[] = [];
      classifyRows(rows, rules, signals, candidates);
      await newAddressCandidates(sql, rows, rules, candidates);
      let findings: { id: string; kind: string; machine: string; service: string; file_name: string; line: number; detail: string; created_at: Date }[] = [];
      if (rules.integrity.enable) {
        ({ rows: findings } = await sql.query(
          `SELECT id, kind, machine, service, file_name, line, detail, created_at FROM audit_findings WHERE batch_id > $1 AND batch_id <= $2 AND severity = 'error' ORDER BY id`,
          [checkpoint, upto],
        ));
        const byFile = new Map<string, typeof findings>();
        for (const f of findings) {
          const id = `${f.kind}\u0000${f.machine}/${f.service}/${f.file_name}`;
          const list = byFile.get(id);
          if (list) list.push(f);
          else byFile.set(id, [f]);
        }
        for (const [id, list] of byFile) {
          const [kind, file] = id.split('\u0000') as [string, string];
          const first = list[0] as (typeof findings)[number];
          candidates.push({
            rule: 'integrity',
            severity: rules.integrity.severity,
            key: `${kind} in ${file}`,
            summary: `AuditSecurity log ${file}: ${kind} (${list.length} finding(s)) — ${first.detail}`.slice(0, 500),
            firstSeen: iso(first.created_at),
            lastSeen: iso((list[list.length - 1] as (typeof findings)[number]).created_at),
            count: list.length,
            evidence: list.slice(0, EVIDENCE_MAX).map((f) => ({ source: 'finding', id: String(f.id) })),
          });
        }
      }
      let outcomes: { run_id: string; status: string; reason: string | null; event_time: Date; user_directory: string | null; user_id: string | null }[] = [];
      if (rules.screenshotRefusals.enable) {
        ({ rows: outcomes } = await sql.query(
          `SELECT run_id, status, reason, event_time, user_directory, user_id FROM screenshot_outcomes
           WHERE batch_id > $1 AND batch_id <= $2 AND (status = 'blocked' OR reason IN ('no-active-session', 'identity-unparseable', 'directory-not-allowed'))`,
          [checkpoint, upto],
        ));
        for (const o of outcomes) signals.push({ rule: 'screenshotRefusals', key: o.status === 'blocked' ? 'blocked downloads' : `refused: ${o.reason}`, at: iso(o.event_time), ref: o.run_id, source: 'screenshot' });
      }
      await countingCandidates(sql, signals, settings, candidates);
      candidates.sort((a, b) => a.firstSeen.localeCompare(b.firstSeen));
      run.alerts.push(...(await storeAlerts(sql, candidates, settings, runId)));
      // Signals older than every window, behind the newest read, are no longer needed.
      // (A week behind the newest read, never ahead of now: a node a few days late, or a clock in the future, loses nothing.)
      const newest = Math.min(signals.reduce((m, s) => Math.max(m, Date.parse(s.at)), 0), Date.now());
      if (newest > 0) {
        const maxWindow = Math.max(rules.failedLogins.windowSeconds, rules.accessDenied.windowSeconds, rules.screenshotRefusals.windowSeconds) * 1000;
        await sql.query('DELETE FROM detection_signals WHERE at < $1', [new Date(newest - 2 * maxWindow - 7 * 86_400_000).toISOString()]);
      }
      await writeState(sql, 'checkpoint', upto);
      run.checkpoint = upto;
      run.rows += rows.length;
      run.findings += findings.length;
      run.outcomes += outcomes.length;
      run.slices++;
      return true;
    }, { lock: DIGEST_CHAIN_LOCK });
    if (!more) return run;
    onSlice?.(run);
  }
}

/** A chain that stopped growing: no ingest run finished for longer than `silentMinutes`. */
export async function silentChain(store: AuditStore, silentMinutes: number, severity: NewAlert['severity'], now = new Date()): Promise<NewAlert | undefined> {
  // A run that never finished counts from its start: a broken install is silent from the first run on.
  const { rows } = await store.query<{ last: Date | null }>('SELECT coalesce(max(finished_at), min(started_at)) AS last FROM ingest_runs');
  const last = rows[0]?.last;
  if (!last || now.getTime() - last.getTime() < silentMinutes * 60_000) return undefined;
  return {
    rule: 'integrity',
    severity,
    key: 'ingestion silent',
    summary: `No AuditSecurity ingest run has finished since ${last.toISOString()} (over ${silentMinutes} min): the schedule, the worker or the log share may be down, and new rows are not verified`,
    firstSeen: last.toISOString(),
    lastSeen: now.toISOString(),
    count: 1,
    evidence: [{ source: 'ingest', id: last.toISOString() }],
  };
}

/** Alerts since a time, newest first, with the sinks that acknowledged each. */
export async function listAlerts(sql: Sql, since?: string, limit = 1000): Promise<(Alert & { createdAt: string; deliveredTo: string[] })[]> {
  const { rows } = await sql.query<Record<string, unknown>>(
    `SELECT a.*, coalesce((SELECT array_agg(sink ORDER BY sink) FROM alert_deliveries d WHERE d.alert_id = a.id), '{}') AS delivered_to
     FROM audit_alerts a WHERE a.created_at >= $1 ORDER BY a.created_at DESC, a.id DESC LIMIT $2`,
    [since ?? '-infinity', limit],
  );
  return rows.map((r) => ({ ...alertOf(r), createdAt: iso(r.created_at), deliveredTo: r.delivered_to as string[] }));
}

export async function alertById(sql: Sql, id: string): Promise<Alert | undefined> {
  const { rows } = await sql.query<Record<string, unknown>>('SELECT * FROM audit_alerts WHERE id = $1', [id]);
  return rows[0] ? alertOf(rows[0]) : undefined;
}
