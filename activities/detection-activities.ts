// The activities of detections and alerts (SPEC 7):
//   detectNewAlerts   reads what was stored since the checkpoint, raises and stores alerts; every
//                     integrity.verifyEveryMinutes also re-checks the whole store against the anchor log
//   sendAlertToSink   one alert to one sink, once: a sink that acknowledged it is never sent it again
import { Context } from '@temporalio/activity';
import { sendAlert } from '../alerts/send-alert';
import { SinkError } from '../alerts/alert-message';
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
        if (detections.rules.integrity.enable) {
          const integrity = detections.rules.integrity;
          const silent = await silentChain(store, silentMinutes(config.auditSecurityLog.every, integrity.silentMinutes));
          if (silent) extra.push({ ...silent, severity: integrity.severity });
          // The whole chain, against the anchor log, now and then (it reads every row: minutes on a big store).
          const last = await readState<string>(store, 'verified-at');
          if (!last || Date.now() - Date.parse(last) >= integrity.verifyEveryMinutes * 60_000) {
            const log = await readAnchorLog(config.auditSecurityLog.anchorFile, digestKey);
            const anchors = currentAnchors(log.entries).map((e) => ({ chainHead: e.chainHead, batches: e.batches, rows: e.rows, storeId: e.storeId, source: `${log.file} #${e.n}` }));
            const report = await verifyStore(store, { key: digestKey, anchors, anchorProblems: log.problems.map((p) => ({ kind: p.kind, detail: p.detail })), sequenceMax: config.auditSecurityLog.sequenceMax });
            verified = { ok: report.ok, problems: report.problems.length };
            const now = new Date().toISOString();
            const kinds = new Map<string, string[]>();
            for (const p of report.problems) kinds.set(p.kind, [...(kinds.get(p.kind) ?? []), p.detail]);
            for (const [kind, details] of kinds) {
              extra.push({ rule: 'integrity', severity: integrity.severity, key: `verify-store ${kind}`, summary: `verify-store: ${details.length} ${kind} problem(s) — ${details[0]}`.slice(0, 500), firstSeen: now, lastSeen: now, count: details.length, evidence: details.slice(0, 20).map((d, i) => ({ source: 'verify-store', id: `${kind}#${i + 1}: ${d.slice(0, 200)}` })) });
            }
            await writeState(store, 'verified-at', now);
          }
        }
        if (extra.length) run.alerts.push(...(await store.transaction((sql) => storeAlerts(sql, extra, settings, runId), { lock: DIGEST_CHAIN_LOCK })));
        // What some sink has not acknowledged (a delivery that gave up, or one never started after a crash).
        const { rows: pending } = await store.query<{ id: string; done: string[] }>(
          `SELECT a.id, coalesce(array_agg(d.sink) FILTER (WHERE d.sink IS NOT NULL), '{}') AS done
           FROM audit_alerts a LEFT JOIN alert_deliveries d ON d.alert_id = a.id
           WHERE a.created_at > now() - interval '2 days' GROUP BY a.id ORDER BY a.id LIMIT 2000`,
        );
        const fresh = new Set(run.alerts.map((a) => a.id));
        const result: DetectionResult = {
          alerts: run.alerts.map((a) => ({ id: a.id, rule: a.rule, severity: a.severity, summary: a.summary.slice(0, 200) })),
          pending: pending.filter((p) => !fresh.has(String(p.id))).map((p) => ({ id: String(p.id), sinks: sinkNames.filter((s) => !p.done.includes(s)) })).filter((p) => p.sinks.length > 0).slice(0, 200),
          sinks: sinkNames,
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
    try {
      await sendAlert(sink, alert);
    } catch (err) {
      const message = err instanceof SinkError ? err.message : `${name}: ${(err as Error).message}`;
      throw transient('SinkUnavailable', message);
    }
    await store.query('INSERT INTO alert_deliveries (alert_id, sink) VALUES ($1, $2) ON CONFLICT DO NOTHING', [alertId, name]).catch((err: unknown) => {
      throw storeFailure(err);
    });
    logger.info({ alertId, sink: name, rule: alert.rule }, 'alert delivered');
    return { alertId, sink: name, outcome: 'sent' };
  }

  return { detectNewAlerts, sendAlertToSink };
}
