// What the detection workflow and its activities pass each other (kept in history: no secrets, no rows).

export interface DetectionResult {
  /** Alerts raised by this run (id, rule, severity: no user names or addresses in history), at most 200. */
  alerts: { id: string; rule: string; severity: string }[];
  /** How many this run raised (more than `alerts` lists when over the cap). */
  raised: number;
  /** Alerts of the last week some sink has not acknowledged yet (their deliveries are started again when not running). */
  pending: { id: string; sinks: string[] }[];
  sinks: string[];
  rows: number;
  findings: number;
  outcomes: number;
  checkpoint: number;
  /** Whether the whole store was checked (verify-store) in this run, and what it found. */
  verified?: { ok: boolean; problems: number };
  storeId: string;
}

export interface DeliveryInput {
  alertId: string;
  sink: string;
}

export interface DeliveryResult {
  alertId: string;
  sink: string;
  /** 'sent' now, or 'already' acknowledged before (a retried or restarted delivery sends nothing twice). */
  outcome: 'sent' | 'already';
}
