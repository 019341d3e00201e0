// The access record (SPEC 6.3): every look at the trail through the auditor's view — a sign-in, a
// trail viewed (whose, which period), a screenshot opened, an evidence bundle downloaded — is stored
// under the digest chain before anything is shown, so who looked at whose trail is as tamper-evident
// as the trail itself. A look that cannot be recorded is not served.
import { DIGEST_CHAIN_LOCK, type DigestKey } from './digest';
import type { AuditStore, Sql } from './store';
import { iso } from './timeline';
import { appendTrailEntry, nextEntry, TRAIL_SOURCES } from './trail-chain';

export type AccessAction = 'sign-in' | 'sign-in-refused' | 'sign-out' | 'trail-viewed' | 'app-viewed' | 'screenshot-opened' | 'evidence-downloaded' | 'status-viewed';

export interface AccessRecord {
  /** The signed-in person as the identity provider names them (name or e-mail), and its subject id. */
  actor: string;
  actorSubject: string;
  role: string;
  action: AccessAction;
  /** Whose trail (a Qlik user). */
  subject?: { userDirectory: string; userId: string };
  app?: string;
  from?: string;
  to?: string;
  /** What exactly (a screenshot's run, a bundle's sha256, the page), in words. */
  detail: string;
  clientAddress?: string;
}

export interface StoredAccess extends AccessRecord {
  id: string;
  at: string;
}

/** Stores one look under its own chain entry; resolves once it is committed. */
export async function recordAccess(store: AuditStore, record: AccessRecord, key: DigestKey | undefined): Promise<StoredAccess> {
  return store.transaction(async (sql) => {
    const entry = await nextEntry(sql);
    const { rows } = await sql.query<Record<string, unknown>>(
      `INSERT INTO audit_access (actor, actor_subject, role, action, subject_directory, subject_id, app, period_from, period_to, detail, client_address, batch_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       RETURNING *`,
      [
        record.actor, record.actorSubject, record.role, record.action, record.subject?.userDirectory ?? null, record.subject?.userId ?? null,
        record.app ?? null, record.from ?? null, record.to ?? null, record.detail, record.clientAddress ?? null, entry.id,
      ],
    );
    await appendTrailEntry(sql, TRAIL_SOURCES.access, entry, rows, { key, runId: `audit-ui/${record.action}` });
    return toAccess(rows[0] as Record<string, unknown>);
  }, { lock: DIGEST_CHAIN_LOCK });
}


function toAccess(row: Record<string, unknown>): StoredAccess {
  return {
    id: String(row.id),
    at: iso(row.at),
    actor: String(row.actor),
    actorSubject: String(row.actor_subject),
    role: String(row.role),
    action: row.action as AccessAction,
    ...(row.subject_id != null ? { subject: { userDirectory: String(row.subject_directory), userId: String(row.subject_id) } } : {}),
    ...(row.app != null ? { app: String(row.app) } : {}),
    ...(row.period_from != null ? { from: iso(row.period_from) } : {}),
    ...(row.period_to != null ? { to: iso(row.period_to) } : {}),
    detail: String(row.detail),
    ...(row.client_address != null ? { clientAddress: String(row.client_address) } : {}),
  };
}

/** Who looked at this user's trail, newest first (the evidence bundle takes them all, oldest first). */
export async function accessesOf(sql: Sql, user: { userDirectory: string; userId: string }, options: { limit?: number; oldestFirst?: boolean } = {}): Promise<StoredAccess[]> {
  const { rows } = await sql.query<Record<string, unknown>>(
    `SELECT * FROM audit_access WHERE subject_directory = $1 AND subject_id = $2 ORDER BY at ${options.oldestFirst ? 'ASC' : 'DESC'}, id ${options.oldestFirst ? 'ASC' : 'DESC'} LIMIT $3`,
    [user.userDirectory, user.userId, options.limit ?? 100_000],
  );
  return rows.map(toAccess);
}

/** The newest looks of all kinds (the store status page). */
export async function recentAccesses(sql: Sql, limit = 50): Promise<StoredAccess[]> {
  const { rows } = await sql.query<Record<string, unknown>>('SELECT * FROM audit_access ORDER BY at DESC, id DESC LIMIT $1', [limit]);
  return rows.map(toAccess);
}

/** Who looked at an app's trail, newest first. */
export async function accessesOfApp(sql: Sql, app: string, limit = 100): Promise<StoredAccess[]> {
  const { rows } = await sql.query<Record<string, unknown>>('SELECT * FROM audit_access WHERE app = $1 ORDER BY at DESC, id DESC LIMIT $2', [app, limit]);
  return rows.map(toAccess);
}
