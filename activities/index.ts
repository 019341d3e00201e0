// Every activity of the product, built from its dependencies (config, logger) so the worker and the
// tests wire them the same way. Workflows import only the type: `Activities`.
import type { ActivityDeps } from './deps';
import { createAuditLogActivities } from './audit-log-activities';
import { createScreenshotActivities } from './screenshot-activities';
import { createAuditTrailActivities } from './audit-trail-activities';
import { createDetectionActivities } from './detection-activities';
import { storeHandle } from './store-handle';

export type { ActivityDeps } from './deps';

export function createActivities(deps: ActivityDeps) {
  const store = storeHandle(deps); // one per worker, shared
  return {
    ...createScreenshotActivities(deps),
    ...createAuditLogActivities(deps, store),
    ...createAuditTrailActivities(deps, store),
    ...createDetectionActivities(deps, store),
  };
}

export type Activities = ReturnType<typeof createActivities>;
