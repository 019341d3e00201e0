// Shared by the retention workflow, its activity and the client that schedules it (types only).

export interface RetentionPolicy {
  /** Audit.qs events and screenshot files older than this many days are purged (0: never). */
  retentionDays: number;
  /** Never purged: users as DIR\ID, apps by id or name. */
  legalHold: { users: string[]; apps: string[] };
}

export interface PurgeInput {
  policy: RetentionPolicy;
  /** Who set the policy and how (e.g. `admin@host via qlik-audit audit schedule --config /etc/qlik-audit.yaml`). */
  configuredBy: string;
}

export interface PurgeResult {
  purgeId: number;
  cutoff: string;
  eventsDeleted: number;
  screenshotsDeleted: number;
  oldest: string | null;
  newest: string | null;
  filesDeleted: number;
  /** Not deleted: an error, or refused (filesRefused). */
  filesFailed: number;
  /** Paths outside the storage targets, refused (a row edited to name another file); counted in filesFailed too. */
  filesRefused?: number;
}
