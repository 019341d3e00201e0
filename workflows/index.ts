// The workflows the worker registers (the worker bundles this file).
export { captureScreenshot } from './capture-screenshot';
export { ingestAuditSecurityLogs } from './ingest-audit-security-logs';
export { purgeAuditTrail } from './purge-audit-trail';
export { detectAlerts, deliverAlert } from './detect-alerts';
