// Shapes shared by the ingestAuditSecurityLogs workflow, its activities and the CLI (no imports:
// workflow code uses them too).

export interface ChainKey {
  machine: string;
  service: string;
  files: number;
}

export interface IngestSummary {
  runId: string;
  chains: number;
  files: number;
  rowsStored: number;
  /** Findings of this run, by kind. */
  findings: Record<string, number>;
  durationMs: number;
  /**
   * The digest chain after this run: kept in Temporal history, outside the database, it is what
   * `logs verify-store` checks the store against (a chain cut short or recomputed shows). Absent in
   * runs made before anchors existed.
   */
  anchor?: ChainAnchor;
}

export interface ChainAnchor {
  /** The store the chain is in (audit_store.store_id). */
  storeId: string;
  /** The newest batch's digest. */
  chainHead: string;
  /** How many batches the chain had. */
  batches: number;
  rows: number;
  /** The anchor log (auditSecurityLog.anchorFile) this anchor was written to, and its entry's number. */
  anchorLog?: string;
  anchorNumber?: number;
  /** auditSecurityLog.anchorFile as the worker resolved it. */
  anchorFile?: string;
}

/** What the planning activity of a run decided: the chains (their files are in the store), and how many at once. */
export interface IngestPlan {
  chains: ChainKey[];
  /** auditSecurityLog.parallelChains of the worker that planned the run. */
  parallelChains: number;
}

export interface IngestWorkflowInput {
  /** Set when the run continues as new: the chains still to do and what was done so far. */
  runId?: string;
  remaining?: ChainKey[];
  /** Set with `remaining` when the run was planned once (its chains' files are in the store). */
  parallelChains?: number;
  done?: Omit<IngestSummary, 'runId' | 'durationMs'>;
  startedAt?: number;
}
