// The activities of ingestAuditSecurityLogs:
//   planAuditLogIngestion   which (machine, service) chains have files in the sources
//   ingestAuditLogChain     one chain, file by file from the checkpoints, heartbeating progress
//   recordIngestRun         the run's summary row
// The store is opened once per worker process (PGlite allows one opener per folder).
import { Context } from '@temporalio/activity';
import type { ChainKey, IngestSummary } from '../common/ingest-types';
import type { ActivityDeps } from './deps';
import { buildChains, discoverLogFiles } from './audit-log/log-files';
import { ingestChain, type ChainResult } from './audit-log/ingest-chain';
import { openStore, type AuditStore } from './audit-log/store';
import { permanent } from './failures';

export function createAuditLogActivities({ config, logger, auditStore, cleanup }: ActivityDeps) {
  const settings = config.auditSecurityLog;
  let store: Promise<AuditStore> | undefined;
  const getStore = () =>
    (store ??= (auditStore ?? (() => openStore(settings.store)))().catch((err: Error) => {
      store = undefined;
      throw permanent('ConfigInvalid', (err as Error).message);
    }));
  // A store opened here is closed here (one given in deps belongs to whoever gave it).
  if (!auditStore) cleanup?.add(async () => (await store)?.close());

  async function chains() {
    try {
      return buildChains(await discoverLogFiles(settings.sources.map((s) => s.directory)));
    } catch (err) {
      throw permanent('ConfigInvalid', `auditSecurityLog.sources: ${(err as Error).message}`);
    }
  }

  async function planAuditLogIngestion(): Promise<ChainKey[]> {
    return (await chains()).map((chain) => ({ machine: chain[0]?.machine ?? '', service: chain[0]?.service ?? '', files: chain.length }));
  }

  // A scheduled and an on-demand run may overlap: one chain is ingested by one activity at a time in
  // this process (and, on PostgreSQL, across processes: see ingestChain).
  const chainLocks = new Map<string, Promise<unknown>>();

  async function ingestAuditLogChain(input: { machine: string; service: string; runId: string }): Promise<ChainResult> {
    const key = `${input.machine}\u0000${input.service}`;
    const previous = chainLocks.get(key) ?? Promise.resolve();
    const mine = previous.catch(() => undefined).then(() => ingestOneChain(input));
    chainLocks.set(key, mine);
    try {
      return await mine;
    } finally {
      if (chainLocks.get(key) === mine) chainLocks.delete(key);
    }
  }

  async function ingestOneChain(input: { machine: string; service: string; runId: string }): Promise<ChainResult> {
    const ctx = Context.current();
    const chain = (await chains()).find((c) => c[0]?.machine === input.machine && c[0]?.service === input.service) ?? [];
    const log = logger.child({ runId: input.runId, machine: input.machine, service: input.service, attempt: ctx.info.attempt });
    const result = await ingestChain(await getStore(), chain, {
      runId: input.runId,
      sequenceMax: settings.sequenceMax,
      signal: ctx.cancellationSignal,
      onProgress: (progress) => ctx.heartbeat(progress),
      onWait: () => ctx.heartbeat({ waiting: 'another worker is ingesting this chain' }),
    });
    log.info({ ...result }, 'audit log chain ingested');
    return result;
  }

  async function recordIngestRun(summary: IngestSummary): Promise<void> {
    await (await getStore()).query(
      `INSERT INTO ingest_runs (id, finished_at, files, rows_stored, findings) VALUES ($1, now(), $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET finished_at = now(), files = EXCLUDED.files, rows_stored = EXCLUDED.rows_stored, findings = EXCLUDED.findings`,
      [summary.runId, summary.files, summary.rowsStored, JSON.stringify(summary.findings)],
    );
  }

  return { planAuditLogIngestion, ingestAuditLogChain, recordIngestRun };
}
