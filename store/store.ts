// The audit store (SPEC 5.6): PostgreSQL through `pg`, an external server for postgres:// URLs or the
// embedded one for embedded:<folder> (embedded-server.ts) — the same schema, the same SQL, the same
// COPY path. Migrations run on open.
// A `?schema=<name>` query parameter on a postgres:// URL puts the tables in that schema.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientConfig, PoolClient } from 'pg';
import { isServerDown, openEmbeddedServer } from './embedded-server';
import { LockLostError, StoreFormatError } from './store-errors';
import { PGLITE_MOVED } from '../common/store-url';

export { EmbeddedServerError, LockLostError, StoreFormatError } from './store-errors';

export interface Sql {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: T[] }>;
}

/** Inside a transaction: queries, and bulk loads in COPY text format (`\N` null, TAB, LF). */
export interface TxSql extends Sql {
  copyFrom(table: string, columns: readonly string[], data: Buffer): Promise<void>;
}

export interface AuditStore extends Sql {
  /**
   * All of `fn` or nothing. With `lock`, transactions holding the same advisory lock key run one at
   * a time across every process on the database. With `snapshot`, read only, and every query sees
   * the database as it was at the first (REPEATABLE READ): a check that reads many tables.
   */
  transaction<T>(fn: (sql: TxSql) => Promise<T>, options?: { lock?: number; snapshot?: boolean }): Promise<T>;
  /**
   * Runs `fn` while no other process on this store runs one with the same `name`. `onWait` is called about once a second while another holds it. `fn`
   * gets a signal that aborts if the lock is lost (its connection dropped): it must stop writing.
   */
  exclusive<T>(name: string, fn: (lockLost: AbortSignal) => Promise<T>, options?: { onWait?: () => void; signal?: AbortSignal }): Promise<T>;
  close(): Promise<void>;
}

/** Known AuditSecurity columns → typed table columns. Anything else goes to `extra` (JSON). */
export const ROW_COLUMNS: Record<string, string> = {
  productversion: 'product_version',
  hostname: 'hostname',
  id: 'event_id',
  description: 'description',
  proxysessionid: 'proxy_session_id',
  proxypackageid: 'proxy_package_id',
  requestsequenceid: 'request_sequence_id',
  userdirectory: 'user_directory',
  userid: 'user_id',
  objectid: 'object_id',
  objectname: 'object_name',
  securityclass: 'security_class',
  clienthostaddress: 'client_host_address',
  service: 'origin_service',
  origin: 'origin',
  context: 'context',
  command: 'command',
  result: 'result',
  message: 'message',
};

const MIGRATIONS = [
  // One row: the store's format, and its id (anchors name the store they belong to).
  `CREATE TABLE IF NOT EXISTS audit_store (format INTEGER NOT NULL, store_id TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS audit_files (
     id BIGSERIAL PRIMARY KEY,
     machine TEXT NOT NULL,
     service TEXT NOT NULL,
     file_name TEXT NOT NULL,
     path TEXT NOT NULL,
     live BOOLEAN NOT NULL,
     closed_at TIMESTAMPTZ,
     checkpoint_offset BIGINT NOT NULL DEFAULT 0,
     checkpoint_line INTEGER NOT NULL DEFAULT 1,
     chain_state JSONB,
     first_checksum TEXT,
     complete BOOLEAN NOT NULL DEFAULT false,
     rows INTEGER NOT NULL DEFAULT 0,
     first_sequence BIGINT,
     last_sequence BIGINT,
     signature TEXT NOT NULL DEFAULT 'absent',
     updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     UNIQUE (machine, service, file_name)
   )`,
  `CREATE TABLE IF NOT EXISTS audit_batches (
     id BIGSERIAL PRIMARY KEY,
     run_id TEXT NOT NULL,
     machine TEXT NOT NULL,
     service TEXT NOT NULL,
     file_name TEXT NOT NULL,
     row_count INTEGER NOT NULL,
     finding_count INTEGER NOT NULL,
     rows_hash TEXT NOT NULL,
     findings_hash TEXT NOT NULL,
     keyed BOOLEAN NOT NULL,
     key_id TEXT,
     prev_digest TEXT NOT NULL,
     digest TEXT NOT NULL,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now()
   )`,
  // Rows arrive by COPY; every index costs on each of millions of rows, so there are three: the
  // natural key (which also stores a row once), the user and the object a row is about. The batch
  // index serves verify-store. The line itself is not kept: every field is, and the file and line.
  `CREATE TABLE IF NOT EXISTS audit_rows (
     machine TEXT NOT NULL,
     service TEXT NOT NULL,
     file_name TEXT NOT NULL,
     sequence BIGINT NOT NULL,
     ts_utc TIMESTAMPTZ,
     ts_text TEXT NOT NULL,
     product_version TEXT, hostname TEXT, event_id TEXT, description TEXT, proxy_session_id TEXT,
     proxy_package_id TEXT, request_sequence_id TEXT, user_directory TEXT, user_id TEXT, object_id TEXT,
     object_name TEXT, security_class TEXT, client_host_address TEXT, origin_service TEXT, origin TEXT,
     context TEXT, command TEXT, result TEXT, message TEXT,
     extra JSONB,
     checksum TEXT NOT NULL,
     checksum_valid BOOLEAN NOT NULL,
     header_ok BOOLEAN NOT NULL,
     line INTEGER NOT NULL,
     batch_id BIGINT NOT NULL,
     PRIMARY KEY (machine, service, sequence, checksum)
   )`,
  `CREATE INDEX IF NOT EXISTS audit_rows_user ON audit_rows (user_directory, user_id, ts_utc)`,
  `CREATE INDEX IF NOT EXISTS audit_rows_object ON audit_rows (object_id, ts_utc)`,
  `CREATE INDEX IF NOT EXISTS audit_rows_batch ON audit_rows (batch_id)`,
  `CREATE TABLE IF NOT EXISTS audit_findings (
     id BIGSERIAL PRIMARY KEY,
     run_id TEXT NOT NULL,
     kind TEXT NOT NULL,
     severity TEXT NOT NULL,
     machine TEXT NOT NULL,
     service TEXT NOT NULL,
     file_name TEXT NOT NULL,
     path TEXT NOT NULL,
     line INTEGER NOT NULL,
     sequence BIGINT,
     detail TEXT NOT NULL,
     batch_id BIGINT NOT NULL,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     UNIQUE (machine, service, file_name, line, kind)
   )`,
  `CREATE INDEX IF NOT EXISTS audit_findings_batch ON audit_findings (batch_id)`,
  // The audit trail (SPEC 6): every accepted Audit.qs event once (reposts are no-ops), the fields
  // people query as columns, the envelope as sent. Indexed for one user's timeline and for retention.
  `CREATE TABLE IF NOT EXISTS audit_events (
     event_id TEXT PRIMARY KEY,
     type TEXT NOT NULL,
     event_time TIMESTAMPTZ NOT NULL,
     received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     user_text TEXT, user_directory TEXT, user_id TEXT,
     app_id TEXT, app_name TEXT, sheet_id TEXT, sheet_name TEXT,
     correlation_id TEXT, audit_qs_version TEXT,
     envelope JSONB NOT NULL,
     batch_id BIGINT NOT NULL
   )`,
  `CREATE INDEX IF NOT EXISTS audit_events_batch ON audit_events (batch_id)`,
  `CREATE INDEX IF NOT EXISTS audit_events_user ON audit_events (user_directory, user_id, event_time)`,
  `CREATE INDEX IF NOT EXISTS audit_events_time ON audit_events (event_time)`,
  // Who used an app, when (the auditor's view).
  `CREATE INDEX IF NOT EXISTS audit_events_app ON audit_events (app_id, event_time)`,
  // One row per finished captureScreenshot run, keyed by run id (a retried activity writes once).
  `CREATE TABLE IF NOT EXISTS screenshot_outcomes (
     run_id TEXT PRIMARY KEY,
     workflow_id TEXT NOT NULL,
     event_id TEXT NOT NULL,
     status TEXT NOT NULL,
     reason TEXT,
     saved_paths JSONB NOT NULL,
     sha256 TEXT, bytes BIGINT, content_type TEXT,
     started_at TIMESTAMPTZ NOT NULL,
     finished_at TIMESTAMPTZ NOT NULL,
     event_time TIMESTAMPTZ NOT NULL,
     user_directory TEXT, user_id TEXT, app_id TEXT, app_name TEXT,
     recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     session_verified BOOLEAN,
     batch_id BIGINT NOT NULL
   )`,
  `CREATE INDEX IF NOT EXISTS screenshot_outcomes_batch ON screenshot_outcomes (batch_id)`,
  `CREATE INDEX IF NOT EXISTS screenshot_outcomes_user ON screenshot_outcomes (user_directory, user_id, event_time)`,
  `CREATE INDEX IF NOT EXISTS screenshot_outcomes_event ON screenshot_outcomes (event_id)`,
  `CREATE INDEX IF NOT EXISTS screenshot_outcomes_time ON screenshot_outcomes (event_time)`,
  `CREATE INDEX IF NOT EXISTS screenshot_outcomes_app ON screenshot_outcomes (app_id, event_time)`,
  // Every retention purge, so a purge is itself part of the record.
  `CREATE TABLE IF NOT EXISTS audit_purges (
     id BIGSERIAL PRIMARY KEY,
     run_id TEXT NOT NULL,
     purged_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     cutoff TIMESTAMPTZ NOT NULL,
     retention_days INTEGER NOT NULL,
     legal_hold JSONB NOT NULL,
     configured_by TEXT NOT NULL,
     events_deleted INTEGER NOT NULL,
     screenshots_deleted INTEGER NOT NULL,
     files_deleted INTEGER,
     files_failed INTEGER,
     oldest TIMESTAMPTZ,
     newest TIMESTAMPTZ,
     batch_id BIGINT NOT NULL
   )`,
  // What a purge deleted, item by item: the chain entry that stored it, its key and its hash (covered
  // by the purge's own chain entry), so verify-store accounts for a purged item and for nothing else.
  `CREATE TABLE IF NOT EXISTS audit_tombstones (
     id BIGSERIAL PRIMARY KEY,
     purge_batch BIGINT NOT NULL,
     batch_id BIGINT NOT NULL,
     item_key TEXT NOT NULL,
     item_hash TEXT NOT NULL
   )`,
  `CREATE INDEX IF NOT EXISTS audit_tombstones_batch ON audit_tombstones (batch_id)`,
  `CREATE INDEX IF NOT EXISTS audit_tombstones_purge ON audit_tombstones (purge_batch)`,
  // Every look at the trail through the auditor's view (SPEC 6.3): sign-ins, trails viewed, screenshots
  // opened, bundles downloaded — each under its chain entry like any trail item, never purged.
  `CREATE TABLE IF NOT EXISTS audit_access (
     id BIGSERIAL PRIMARY KEY,
     at TIMESTAMPTZ NOT NULL DEFAULT now(),
     actor TEXT NOT NULL,
     actor_subject TEXT NOT NULL,
     role TEXT NOT NULL,
     action TEXT NOT NULL,
     subject_directory TEXT, subject_id TEXT,
     app TEXT,
     period_from TIMESTAMPTZ, period_to TIMESTAMPTZ,
     detail TEXT NOT NULL,
     client_address TEXT,
     batch_id BIGINT NOT NULL
   )`,
  `CREATE INDEX IF NOT EXISTS audit_access_batch ON audit_access (batch_id)`,
  `CREATE INDEX IF NOT EXISTS audit_access_subject ON audit_access (subject_directory, subject_id, at)`,
  `CREATE INDEX IF NOT EXISTS audit_access_at ON audit_access (at)`,
  // Detections and alerts (SPEC 7): alerts are trail items under the chain (never edited: a later
  // burst is a new alert); deliveries, the checkpoint, windowed signals and each user's client
  // addresses are the detector's working state.
  `CREATE TABLE IF NOT EXISTS audit_alerts (
     id BIGSERIAL PRIMARY KEY,
     rule TEXT NOT NULL,
     severity TEXT NOT NULL,
     alert_key TEXT NOT NULL,
     summary TEXT NOT NULL,
     first_seen TIMESTAMPTZ NOT NULL,
     last_seen TIMESTAMPTZ NOT NULL,
     count INTEGER NOT NULL,
     evidence JSONB NOT NULL,
     user_directory TEXT, user_id TEXT,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     batch_id BIGINT NOT NULL
   )`,
  `CREATE INDEX IF NOT EXISTS audit_alerts_batch ON audit_alerts (batch_id)`,
  `CREATE INDEX IF NOT EXISTS audit_alerts_rule_key ON audit_alerts (rule, alert_key, last_seen)`,
  `CREATE INDEX IF NOT EXISTS audit_alerts_user ON audit_alerts (user_directory, user_id, first_seen)`,
  `CREATE INDEX IF NOT EXISTS audit_alerts_created ON audit_alerts (created_at)`,
  `CREATE TABLE IF NOT EXISTS alert_deliveries (
     alert_id BIGINT NOT NULL,
     sink TEXT NOT NULL,
     delivered_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     PRIMARY KEY (alert_id, sink)
   )`,
  `CREATE TABLE IF NOT EXISTS detection_state (name TEXT PRIMARY KEY, value JSONB NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
  `CREATE TABLE IF NOT EXISTS detection_signals (
     rule TEXT NOT NULL,
     signal_key TEXT NOT NULL,
     at TIMESTAMPTZ NOT NULL,
     ref TEXT NOT NULL,
     source TEXT NOT NULL,
     PRIMARY KEY (rule, signal_key, ref)
   )`,
  `CREATE INDEX IF NOT EXISTS detection_signals_window ON detection_signals (rule, signal_key, at)`,
  `CREATE INDEX IF NOT EXISTS detection_signals_at ON detection_signals (at)`,
  `CREATE TABLE IF NOT EXISTS client_addresses (
     user_directory TEXT NOT NULL,
     user_id TEXT NOT NULL,
     address TEXT NOT NULL,
     first_seen TIMESTAMPTZ NOT NULL,
     PRIMARY KEY (user_directory, user_id, address)
   )`,
  // One ingest run's discovery (the files of each chain), made once by its planning activity and read by
  // each chain's activity, on whichever worker: the sources are walked once per run, not once per chain.
  `CREATE TABLE IF NOT EXISTS ingest_plans (
     run_id TEXT NOT NULL,
     machine TEXT NOT NULL,
     service TEXT NOT NULL,
     paths JSONB NOT NULL,
     PRIMARY KEY (run_id, machine, service)
   )`,
  `CREATE TABLE IF NOT EXISTS ingest_runs (
     id TEXT PRIMARY KEY,
     started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     finished_at TIMESTAMPTZ,
     files INTEGER NOT NULL DEFAULT 0,
     rows_stored INTEGER NOT NULL DEFAULT 0,
     findings JSONB NOT NULL DEFAULT '{}'::jsonb
   )`,
];

const EXCLUSIVE_LOCK_SPACE = 72233; // first key of our two-key advisory locks

/** The chain's head and length now (an ingest run records it outside the database). */
export async function chainAnchor(store: Sql): Promise<{ storeId: string; chainHead: string; batches: number; rows: number }> {
  const { rows } = await store.query<{ batches: string | number; rows: string | number | null; head: string | null; store_id: string }>(
    `SELECT count(*) AS batches, sum(row_count) AS rows, (SELECT digest FROM audit_batches ORDER BY id DESC LIMIT 1) AS head,
            (SELECT store_id FROM audit_store LIMIT 1) AS store_id
     FROM audit_batches`,
  );
  const row = rows[0];
  return { storeId: row?.store_id ?? '', chainHead: row?.head ?? '0'.repeat(64), batches: Number(row?.batches ?? 0), rows: Number(row?.rows ?? 0) };
}

/** The store's id (anchors carry it, so a namespace shared by several stores keeps them apart). */
export async function storeId(store: Sql): Promise<string> {
  return (await store.query<{ store_id: string }>('SELECT store_id FROM audit_store LIMIT 1')).rows[0]?.store_id ?? '';
}

/**
 * 4: the digest chain also covers Audit.qs events, screenshot outcomes and purges (each with the
 * entry that stored it), purged items leave tombstones. (1 to 3 were development versions.)
 */
const STORE_FORMAT = 4;

/** Processes that open a new store at once (worker and receiver starting together) migrate it one at a time. */
const MIGRATION_LOCK = 72233_0001;

async function migrate(store: AuditStore): Promise<void> {
  await store.transaction(async (sql) => {
    const { rows } = await sql.query<{ rows: boolean; meta: boolean; current: boolean }>(
      `SELECT to_regclass('audit_rows') IS NOT NULL AS rows, to_regclass('audit_store') IS NOT NULL AS meta, to_regclass('audit_tombstones') IS NOT NULL AS current`,
    );
    const format = rows[0]?.meta ? (await sql.query<{ format: number }>('SELECT format FROM audit_store')).rows[0]?.format : undefined;
    // A store of this format whose id row (or table) is gone was emptied of its identity by someone:
    // it is opened without one — verify-store then names it (store-replaced), ingest refuses — never
    // given a fresh id, which would pass it off as a new store.
    const idLost = rows[0]?.rows && rows[0]?.current && format === undefined;
    if (rows[0]?.rows && format !== STORE_FORMAT && !idLost) {
      throw new StoreFormatError(`this store was written by an earlier development version (format ${format ?? 1}, now ${STORE_FORMAT}): point auditSecurityLog.store at a new database, schema or folder and ingest again; the log files are the source`);
    }
    for (const statement of MIGRATIONS) await sql.query(statement);
    if (format === undefined && !idLost) await sql.query('INSERT INTO audit_store (format, store_id) VALUES ($1, $2)', [STORE_FORMAT, randomUUID()]);
  }, { lock: MIGRATION_LOCK });
}

export interface OpenStoreOptions {
  /** Shown in pg_stat_activity (which qlik-audit command holds a connection). */
  applicationName?: string;
}

interface ConnectHooks {
  /** For messages: which store this is. */
  describe: string;
  /** Created first when given. */
  schema?: string;
  /** Called when no server answers a new connection (the embedded server starts it again); then retried once. */
  recover?: () => Promise<void>;
  /** After the pool is closed. */
  onClose?: () => Promise<void>;
}

/** The store on a PostgreSQL server: one pool of connections, the same SQL and COPY path for every server. */
async function connectPostgres(connection: ClientConfig, hooks: ConnectHooks): Promise<AuditStore> {
  const { default: pg } = await import('pg');
  const { from: copyStream } = await import('pg-copy-streams');
  const pool = new pg.Pool({ ...connection, max: 4 });
  // An idle connection the server drops (restart, pg_terminate_backend) is discarded by the pool;
  // without a listener its error would crash the worker. The next query opens a new one.
  pool.on('error', () => undefined);
  // A connection that finds no server: the embedded one is started again, then one more try. Only the
  // connect is retried (no statement was sent), never a query.
  const recovering = async <T>(connect: () => Promise<T>): Promise<T> => {
    try {
      return await connect();
    } catch (err) {
      if (!hooks.recover || !isServerDown(err)) throw err;
      await hooks.recover();
      return connect();
    }
  };
  const acquire = () => recovering(() => pool.connect());
  try {
    const client = await acquire();
    try {
      if (hooks.schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${hooks.schema}`);
      await client.query('SELECT 1');
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end();
    throw new Error(`cannot connect to ${hooks.describe} (auditSecurityLog.store): ${(err as Error).message}`, { cause: err });
  }
  /**
   * Runs `fn` on a pooled connection. A connection dropped meanwhile fails the query under way (the
   * caller retries); the client's own 'error' event must not crash the process, and a broken
   * connection is closed, not handed to the next user.
   */
  const onConnection = async <T>(fn: (client: PoolClient, broke: (err: Error) => void) => Promise<T>): Promise<T> => {
    const client = await acquire();
    let broken: Error | undefined;
    const broke = (err: Error) => void (broken ??= err);
    client.on('error', broke);
    try {
      return await fn(client, broke);
    } catch (err) {
      if (isServerDown(err)) broke(err as Error);
      throw err;
    } finally {
      client.removeListener('error', broke);
      client.release(broken);
    }
  };
  return {
    query: (text, params) => onConnection(async (client) => (await client.query(text, params as unknown[])) as never),
    transaction: (fn, options) =>
      onConnection(async (client, broke) => {
        try {
          // One round trip: a batch's commit costs a few, and each waits for this process's event loop.
          const begin = options?.snapshot ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN';
          await client.query(options?.lock === undefined ? begin : `${begin}; SELECT pg_advisory_xact_lock(${Math.trunc(options.lock)})`);
          const result = await fn({
            query: (text, params) => client.query(text, params as unknown[]) as never,
            copyFrom: (table, columns, data) => pipeline(Readable.from([data]), client.query(copyStream(`COPY ${table} (${columns.join(',')}) FROM STDIN`))),
          });
          await client.query('COMMIT');
          return result;
        } catch (err) {
          await client.query('ROLLBACK').catch(broke);
          throw err;
        }
      }),
    async exclusive(name, fn, options) {
      // A session-level advisory lock on a connection of its own (not the pool's, which transactions
      // need meanwhile): it is released when this session ends, also when this process is killed.
      // A lost lock connection (PostgreSQL restarted, the session killed) means another process may
      // take the lock: the work under it is aborted, retryably, instead of going on unlocked.
      const lost = new AbortController();
      const onLost = (err: Error) => lost.abort(new LockLostError(`lost the connection holding the lock on ${name} (${err.message.split('\n')[0]}); this chain is retried`));
      const client = await recovering(async () => {
        const candidate = new pg.Client(connection);
        candidate.on('error', onLost);
        try {
          await candidate.connect();
        } catch (err) {
          candidate.removeListener('error', onLost);
          throw err;
        }
        return candidate;
      });
      client.on('end', () => onLost(new Error('connection ended')));
      try {
        for (;;) {
          const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [EXCLUSIVE_LOCK_SPACE, name]);
          if (rows[0]?.ok) break;
          options?.onWait?.();
          await sleep(1000, undefined, { signal: options?.signal });
        }
        const result = await fn(lost.signal);
        lost.signal.throwIfAborted(); // lost at the very end: the last commit may have raced another holder
        return result;
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    async close() {
      try {
        await pool.end();
      } finally {
        await hooks.onClose?.();
      }
    },
  };
}

export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<AuditStore> {
  let store: AuditStore;
  if (url.startsWith('pglite:')) throw new StoreFormatError(`auditSecurityLog.store: ${PGLITE_MOVED}`);
  if (url.startsWith('embedded:')) {
    const folder = url.slice('embedded:'.length);
    const server = await openEmbeddedServer(folder, { applicationName: options.applicationName });
    try {
      store = await connectPostgres(server.connection, { describe: `the embedded store ${server.dataDir}`, recover: server.ensureRunning, onClose: server.release });
    } catch (err) {
      await server.release().catch(() => undefined);
      throw err;
    }
  } else {
    const parsed = new URL(url);
    const schema = parsed.searchParams.get('schema');
    parsed.searchParams.delete('schema');
    if (schema && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`auditSecurityLog.store: schema '${schema}' must be a plain lower-case identifier`);
    store = await connectPostgres(
      { connectionString: parsed.toString(), ...(schema ? { options: `-c search_path=${schema}` } : {}), application_name: options.applicationName ?? 'qlik-audit', connectionTimeoutMillis: 15_000 },
      { describe: `the audit store ${decodeURIComponent(parsed.host)}${parsed.pathname}`, schema: schema ?? undefined },
    );
  }
  try {
    await migrate(store);
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return store;
}
