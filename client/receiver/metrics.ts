// Prometheus metrics of the event receiver (GET /metrics): events by type and outcome (`stored`: a new
// row in the audit store, `duplicate`: a repost of a stored one), how long Temporal took to accept each
// workflow start, and how long each event waited for the store's commit.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { KNOWN_EVENT_TYPES } from '../../common/audit-event';

const LABELLED_TYPES = new Set<string>(KNOWN_EVENT_TYPES);

export type EventOutcome = 'accepted' | 'stored' | 'duplicate' | 'store-unavailable' | 'invalid' | 'unauthorized' | 'rate-limited' | 'temporal-unavailable' | 'temporal-misconfigured';

export function createReceiverMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'qlik_audit_receiver_' });
  const events = new Counter({
    name: 'qlik_audit_receiver_events_total',
    help: 'Audit.qs events received, by event type and outcome',
    labelNames: ['type', 'outcome'] as const,
    registers: [registry],
  });
  const startLatency = new Histogram({
    name: 'qlik_audit_receiver_workflow_start_seconds',
    help: 'Time until Temporal durably accepted the workflow start',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const storeLatency = new Histogram({
    name: 'qlik_audit_receiver_event_store_seconds',
    help: 'Time until the audit store committed an event (group commit: many events per commit)',
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const versions = new Counter({
    name: 'qlik_audit_receiver_audit_qs_version_total',
    help: 'Audit.qs events by the version they came from (X-Audit-QS-Version, else source.version)',
    labelNames: ['version'] as const,
    registers: [registry],
  });
  return {
    registry,
    /** `version` is already bounded by the caller (at most a few distinct labels). */
    countVersion(version: string) {
      versions.inc({ version });
    },
    /** Butler SOS's known types by name, anything else as `other` (a client cannot blow up the label set). */
    count(type: string | undefined, outcome: EventOutcome) {
      events.inc({ type: type === undefined ? 'unknown' : LABELLED_TYPES.has(type) ? type : 'other', outcome });
    },
    observeStart(seconds: number) {
      startLatency.observe(seconds);
    },
    observeStore(seconds: number) {
      storeLatency.observe(seconds);
    },
  };
}

export type ReceiverMetrics = ReturnType<typeof createReceiverMetrics>;
