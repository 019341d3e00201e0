// The store's status page: the integrity check (verify-store against the anchors) is run on the
// first look and on request, in the background — on a store of millions of rows it takes minutes —
// and the page shows the last result with when it was made, and that one is running.
import type { Config } from '../common/config';
import type { Logger } from '../common/logger';
import { checkStore, type StoreCheck } from '../client/store-check';
import type { AuditStore } from '../store/store';

export interface StatusCheck extends StoreCheck {
  startedAt: string;
  finishedAt: string;
}

export class StoreStatus {
  last?: StatusCheck;
  lastError?: { at: string; message: string };
  runningSince?: string;
  private running?: Promise<void>;

  constructor(
    private readonly config: Config,
    private readonly store: AuditStore,
    private readonly logger: Logger,
  ) {}

  /** Starts a check unless one is running; resolves when it is done. */
  check(): Promise<void> {
    this.running ??= (async () => {
      const startedAt = new Date().toISOString();
      this.runningSince = startedAt;
      try {
        const result = await checkStore(this.config, this.store);
        this.last = { ...result, startedAt, finishedAt: new Date().toISOString() };
        this.logger.info({ ok: result.report.ok, problems: result.report.problems.length, batches: result.report.batches }, 'auditor view: store checked');
      } catch (err) {
        this.lastError = { at: new Date().toISOString(), message: (err as Error).message.split('\n')[0] ?? String(err) };
        this.logger.warn({ err: this.lastError.message }, 'auditor view: the store check failed');
      } finally {
        this.runningSince = undefined;
        this.running = undefined;
      }
    })();
    return this.running;
  }
}
