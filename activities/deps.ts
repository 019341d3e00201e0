// What activities need from the worker process; tests pass their own (e.g. a logger they can read).
import type { Config } from '../common/config';
import type { Logger } from '../common/logger';
import type { AuditStore } from '../store/store';
import type { Cleanup } from '../common/cleanup';

export interface ActivityDeps {
  config: Config;
  logger: Logger;
  /** The audit store; by default opened from auditSecurityLog.store on first use. */
  auditStore?: () => Promise<AuditStore>;
  /** Where activities register what to close once the worker has stopped. */
  cleanup?: Cleanup;
}
