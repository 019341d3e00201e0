// The activities of detections and alerts (SPEC 7):
//   detectNewAlerts   reads what was stored since the checkpoint, raises and stores alerts; every
//                     integrity.verifyEveryMinutes also re-checks the whole store against the anchor log
//   sendAlertToSink   one alert to one sink, once: a sink that acknowledged it is never sent it again
import { Context } from '@temporalio/activity';
import { sendAlert } from '../alerts/send-alert';
import { sinkSecret, sinkSecretEnv, SinkError } from '../alerts/alert-message';
import type { DeliveryInput, DeliveryResult, DetectionResult } from '../common/detection-types';
import { permanent, transient } from '../common/failures';
import { currentAnchors, readAnchorLog } from '../store/anchor-log';
import { alertById, detectNew, readState, silentChain, storeAlerts, writeState, type NewAlert } from '../store/detections';
import { configuredDigestKey, DIGEST_CHAIN_LOCK } from '../store/digest';
import { storeId } from '../store/store';
import { verifyStore } from '../store/verify-store';
import type { ActivityDeps } from './deps';
import { withHeartbeat } from './heartbeat';
import type { StoreHandle } from './store-handle';
import { storeFailure } from './store-failures';

const HEARTBEAT_MS = 60_000;
/** Deliveries started by one run (the rest by the next ones): keeps its history and result small. */
const MAX_PER_RUN = 200;

/** Minutes of ingest silence that make a chain "stopped growing": configured, else 6 × the ingest interval (≥ 30). */
function silentMinutes(every: string, configured: number): number {
  if (configured > 0) return configured;
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(every);
  const minutes = m ? (Number(m[1]) * { ms: 1 / 60_000, s: 1 / 60, m: 1, h: 60, d: 1440 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd']) : 5;
  return Math.max(30, Math.ceil(minutes * 6));
}

export function createDetectionActivities({ logger, config }: ActivityDeps, getStore: StoreHandle) {
  const digestKey = configuredDigestKey(config.auditSecurityLog.digestKey);
  const { detections } = config;
  const sinkNames = config.alerts.sinks.map((s) => s.name);
  for (const sink of config.alerts.sinks) {
    if (sink.type === 'webhook' && !sinkSecret('ALERT_SECRET', sink.name, sink.secret)) {
      logger.warn({ sink: sink.name }, `alerts.sinks ${sink.name}: no secret (set it, or env ${sinkSecretEnv('ALERT_SECRET', sink.name)}): its alerts are signed with an empty key, which anyone can forge`);
    }
  }

  async function detectNewAlerts(): Promise<DetectionResult> {
    const ctx = Context.current();
    const runId = `detections/${ctx.info.workflowExecution?.workflowId ?? 'manual'}`;
    return withHeartbeat(ctx, HEARTBEAT_MS, async (beat) => {
      const store = await getStore().catch((err: unknown) => {
        throw storeFailure(err);
      });
      try {
        const settings = { rules: detections.rules, suppressionMinutes: detections.suppressionMinutes, key: digestKey };
        const run = await detectNew(store, settings, runId, (r) => beat.progress({ rows: r.rows, checkpoint: r.checkpoint }));
        const extra: NewAlert[] = [];
        let verified: DetectionResult['verified'];
        let verifiedAt: string | undefined;
        if (detections.rules.integrity.enable) {
          const integrity = detections.rules.integrity;
          const silent = await silentChain(store, silentMinutes(config.auditSecurityLog.every, integrity.silentMinutes), integrity.severity);
          if (silent) extra.push(silent);
          // The whole chain, against the anchor log, now and then (it reads every row: minutes on a big store).
          const last = await readState<string>(store, 'verified-at');
          if (!last || Date.now() - Date.parse(last) >= integrity.verifyEveryMinutes * 60_000) {
            const log = await readAnchorLog(config.auditSecurityLog.anchorFile, digestKey);
            const anchors = currentAnchors(log.entries).map((e) => ({ chainHead: e.chainHead, batches: e.batches, rows: e.rows, storeId: e.storeId, source: `${log.file} #${e.n}` }));
            const report = await verifyStore(store, { key: digestKey, anchors, anchorProblems: log.problems.map((p) => ({ kind: p.kind, detail: p.detail })), sequenceMax: config.auditSecurityLog.sequenceMax });
            verified = { ok: report.ok, problems: report.problems.length };
            const now = new Date().toISOString();
            const kinds = new Map<string, string[]>();
            for (const p of report.problems) {
              const details = kinds.get(p.kind);
              if (details) details.push(p.detail);
              else kinds.set(p.kind, [p.detail]);
            }
            for (const [kind, details] of kinds) {
              extra.push({ rule: 'integrity', severity: integrity.severity, key: `verify-store ${kind}`, summary: `verify-store: ${details.length} ${kind} problem(s) — ${details[0]}`.slice(0, 500), firstSeen: now, lastSeen: now, count: details.length, evidence: details.slice(0, 20).map((d, i) => ({ source: 'verify-store', id: `${kind}#${i + 1}: ${d.slice(0, 200)}` })) });
            }
            verifiedAt = now;
          }
        }
        // The verify-store alerts and the time of the check commit together: a failed commit checks again.
        if (extra.length || verifiedAt) {
          const stored = await store.transaction(async (sql) => {
            const alerts = await storeAlerts(sql, extra, settings, runId);
            if (verifiedAt) await writeState(sql, 'verified-at', verifiedAt);
            return alerts;
          }, { lock: DIGEST_CHAIN_LOCK });
          run.alerts.push(...stored);
        }
        // What some sink has not acknowledged, oldest first, for a week (longer than a delivery retries:
        // one that gave up is started again by a later run).
        const { rows: pending } = await store.query<{ id: string; done: string[] }>(
          `SELECT a.id, coalesce(array_agg(d.sink) FILTER (WHERE d.sink IS NOT NULL), '{}') AS done
           FROM audit_alerts a LEFT JOIN alert_deliveries d ON d.alert_id = a.id
           WHERE a.created_at > now() - interval '7 days'
           GROUP BY a.id
           HAVING NOT (coalesce(array_agg(d.sink) FILTER (WHERE d.sink IS NOT NULL), '{}') @> $1::text[])
           ORDER BY a.id LIMIT 500`,
          [sinkNames],
        );
        // History carries ids and rules only (no user names or addresses), and a bounded number of them:
        // alerts beyond the cap are delivered through `pending` by the next runs.
        const sentNow = new Set(run.alerts.slice(0, MAX_PER_RUN).map((a) => a.id));
        const result: DetectionResult = {
          alerts: run.alerts.slice(0, MAX_PER_RUN).map((a) => ({ id: a.id, rule: a.rule, severity: a.severity })),
          pending: pending
            .filter((p) => !sentNow.has(String(p.id)))
            .map((p) => ({ id: String(p.id), sinks: sinkNames.filter((name) => !p.done.includes(name)) }))
            .slice(0, MAX_PER_RUN),
          sinks: sinkNames,
          raised: run.alerts.length,
          rows: run.rows,
          findings: run.findings,
          outcomes: run.outcomes,
          checkpoint: run.checkpoint,
          ...(verified ? { verified } : {}),
          storeId: await storeId(store),
        };
        logger.info({ alerts: result.alerts.length, rows: run.rows, checkpoint: run.checkpoint }, 'detections run');
        return result;
      } catch (err) {
        throw storeFailure(err);
      }
    });
  }

  async function sendAlertToSink({ alertId, sink: name }: DeliveryInput): Promise<DeliveryResult> {
    const sink = config.alerts.sinks.find((s) => s.name === name);
    if (!sink) throw permanent('ConfigInvalid', `alerts.sinks: no sink named '${name}' in this worker's configuration (alert ${alertId} is not sent there)`);
    const store = await getStore().catch((err: unknown) => {
      throw storeFailure(err);
    });
    const done = await store.query('SELECT 1 FROM alert_deliveries WHERE alert_id = $1 AND sink = $2', [alertId, name]).catch((err: unknown) => {
      throw storeFailure(err);
    });
    if (done.rows.length > 0) return { alertId, sink: name, outcome: 'already' };
    const alert = await alertById(store, alertId);
    if (!alert) throw permanent('ConfigInvalid', `alert ${alertId} is not in the store (auditSecurityLog.store): was the store replaced?`);
    // A beat every 5 s (the activity's heartbeat timeout is 30 s) through the send and the record of it.
    await withHeartbeat(Context.current(), 20_000, async () => {
      try {
        await sendAlert(sink, alert);
      } catch (err) {
        const message = err instanceof SinkError ? err.message : `${name}: ${(err as Error).message}`;
        throw transient('SinkUnavailable', message);
      }
      // Acknowledged: recorded, trying for a while here rather than failing the attempt (a retry would send again).
      for (let attempt = 1; ; attempt++) {
        try {
          await store.query('INSERT INTO alert_deliveries (alert_id, sink) VALUES ($1, $2) ON CONFLICT DO NOTHING', [alertId, name]);
          break;
        } catch (err) {
          if (attempt >= 10) throw storeFailure(err);
          await new Promise((resolve) => setTimeout(resolve, attempt * 1000));
        }
      }
    });
    logger.info({ alertId, sink: name, rule: alert.rule }, 'alert delivered');
    return { alertId, sink: name, outcome: 'sent' };
  }

  return { detectNewAlerts, sendAlertToSink };
}
