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
}

export interface IngestWorkflowInput {
  /** Set when the run continues as new: the chains still to do and what was done so far. */
  runId?: string;
  remaining?: ChainKey[];
  done?: Omit<IngestSummary, 'runId' | 'durationMs'>;
  startedAt?: number;
}
