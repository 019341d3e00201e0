// What one screenshot capture ends with (SPEC 3.4): the captureScreenshot result and the
// `qlik-audit screenshot --wait` output. Shared by the workflow, its activities and the client.

export type SkipReason = 'identity-unparseable' | 'virtual-proxy-invalid' | 'screenshots-disabled' | 'no-storage-target' | 'directory-not-allowed' | 'no-active-session';
export type BlockReason = 'missing-location' | 'max-redirects' | 'invalid-location' | 'invalid-scheme' | 'host-not-allowed' | 'path-not-allowed';

export interface ScreenshotResult {
  workflowId: string;
  status: 'stored' | 'skipped' | 'blocked';
  reason?: SkipReason | BlockReason;
  savedPaths: string[];
  sha256?: string;
  bytes?: number;
  contentType?: string;
  /** userTicket mode: QPS said the user named in the event was signed in (the event itself is the browser's claim). */
  sessionVerified?: boolean;
}

export type AuthMode = 'none' | 'qpsTicket' | 'userTicket';

export interface QlikUser {
  userDirectory: string;
  userId: string;
}

/**
 * Decided by the parseIdentity activity: who the event is about (`eventUser`, for search attributes),
 * and who the screenshot is downloaded as (`ticketUser`: the event's user in userTicket mode, the
 * configured user in qpsTicket mode, nobody in none mode) through which virtual proxy.
 */
/**
 * How the download activity is retried, from the worker's config (screenshots.retryWindowMinutes and
 * the timeouts), decided by parseIdentity so the workflow needs no config of its own.
 */
export interface DownloadPolicy {
  /** Transient failures are retried this long (schedule-to-close), then the run fails with the last cause. */
  retryWindowMs: number;
  /** One attempt at most (start-to-close): every ticket and download round of it, with margin. */
  attemptTimeoutMs: number;
  /** The activity heartbeats on a timer at a quarter of this, whatever it is waiting for. */
  heartbeatTimeoutMs: number;
  /**
   * The first attempt's budget as a local activity in the workflow task (screenshots.fastPathMs; 0 or
   * absent: no fast path). Runs planned before the fast path existed have none.
   */
  fastPathMs?: number;
}

export type CaptureIdentity =
  | { status: 'ok'; mode: AuthMode; eventUser?: QlikUser; ticketUser?: QlikUser; virtualProxy: string; policy: DownloadPolicy }
  | { status: 'skipped'; reason: SkipReason; detail: string; eventUser?: QlikUser };
