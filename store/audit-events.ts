// Audit.qs events in the store (SPEC 6.1): one row per eventId — reposts are no-ops — with the fields
// people query as columns and the whole envelope as JSONB, next to the AuditSecurity rows.
// One INSERT takes any number of events as a single JSON parameter (jsonb_to_recordset), the same
// SQL on every PostgreSQL; the receiver batches concurrent requests into it (event-writer.ts).
import { eventContext, parseEventTime, type AuditEvent } from '../common/audit-event';
import { parseQlikIdentity } from '../common/qlik-identity';
import { DIGEST_CHAIN_LOCK, type DigestKey } from './digest';
import type { AuditStore, Sql, TxSql } from './store';
import { appendTrailEntry, nextEntry, TRAIL_SOURCES } from './trail-chain';

/** What an event is stored as (the columns; `envelope` is the event as accepted). */
export interface EventRow {
  event_id: string;
  type: string;
  event_time: string;
  user_text: string | null;
  user_directory: string | null;
  user_id: string | null;
  app_id: string | null;
  app_name: string | null;
  sheet_id: string | null;
  sheet_name: string | null;
  correlation_id: string | null;
  audit_qs_version: string | null;
  envelope: AuditEvent;
}

const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

export function eventRow(event: AuditEvent): EventRow {
  const context = eventContext(event);
  const user = text(context.user);
  const identity = user ? parseQlikIdentity(user) : undefined;
  return {
    event_id: event.eventId.toLowerCase(),
    type: event.type,
    event_time: new Date(parseEventTime(event.timestamp)).toISOString(),
    user_text: user,
    user_directory: identity?.userDirectory ?? null,
    user_id: identity?.userId ?? null,
    app_id: text(context.appId)?.toLowerCase() ?? null,
    app_name: text(context.appName),
    sheet_id: text(context.sheetId),
    sheet_name: text(context.sheetName),
    correlation_id: text(event.correlationId),
    audit_qs_version: text(event.source?.version),
    envelope: event,
  };
}

const COLUMNS = 'event_id text, type text, event_time timestamptz, user_text text, user_directory text, user_id text, app_id text, app_name text, sheet_id text, sheet_name text, correlation_id text, audit_qs_version text, envelope jsonb';
const NAMES = COLUMNS.split(', ').map((c) => c.split(' ')[0]).join(', ');

/**
 * The JSON text of rows for one INSERT. PostgreSQL's text and jsonb refuse NUL and lone UTF-16
 * surrogates, which JSON.stringify writes as `\u0000` and `\udXXX` escapes (a surrogate pair it writes
 * as the character itself): each such escape — one preceded by an even number of backslashes, so
 * really an escape — becomes U+FFFD. One hostile event must not fail the batch it shares.
 */
export function rowsParameter(rows: readonly unknown[]): string {
  return JSON.stringify(rows).replace(/(?<!\\)((?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/gi, '$1\\ufffd');
}

/**
 * Stores the events not stored yet, in one statement, under chain entry `batchId`. Returns the rows
 * inserted (as stored: their hashes go into the entry); the others were there already (a repost).
 */
export async function insertEvents(sql: Sql, rows: readonly EventRow[], batchId: string): Promise<Record<string, unknown>[]> {
  if (rows.length === 0) return [];
  const { rows: inserted } = await sql.query<Record<string, unknown>>(
    `INSERT INTO audit_events (${NAMES}, batch_id)
     SELECT ${NAMES}, $2 FROM jsonb_to_recordset($1::jsonb) AS r(${COLUMNS})
     ON CONFLICT (event_id) DO NOTHING
     RETURNING *`,
    [rowsParameter(rows), batchId],
  );
  return inserted;
}

/**
 * Stores events and appends their chain entry, in the caller's transaction, which holds
 * DIGEST_CHAIN_LOCK. Returns the ids that were new.
 */
export async function insertChainedEvents(sql: TxSql, rows: readonly EventRow[], options: { key: DigestKey | undefined; runId: string }): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const entry = await nextEntry(sql);
  const inserted = await insertEvents(sql, rows, entry.id);
  await appendTrailEntry(sql, TRAIL_SOURCES.events, entry, inserted, options);
  return new Set(inserted.map((r) => String(r.event_id)));
}

/** Events into the store, each once, in a transaction of their own: the receiver's and the tests' way in. */
export function storeEvents(store: Pick<AuditStore, 'transaction'>, rows: readonly EventRow[], options: { key: DigestKey | undefined; runId?: string }): Promise<Set<string>> {
  return store.transaction((sql) => insertChainedEvents(sql, rows, { key: options.key, runId: options.runId ?? 'audit-qs-receiver' }), { lock: DIGEST_CHAIN_LOCK });
}

/** Stored events by type (for metrics and the demo). */
export async function countEventsByType(sql: Sql): Promise<Record<string, number>> {
  const { rows } = await sql.query<{ type: string; n: string | number }>('SELECT type, count(*) AS n FROM audit_events GROUP BY type ORDER BY type');
  return Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]));
}
