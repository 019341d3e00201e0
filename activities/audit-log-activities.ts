// The activities of ingestAuditSecurityLogs:
//   planAuditLogRun         the run's plan: the sources walked once, each chain's files kept in the store
//   ingestAuditLogChain     one chain, file by file from the checkpoints, heartbeating progress
//   recordIngestRun         the run's summary row
// The store is opened once per worker process (store-handle.ts). Each activity
// heartbeats on a timer through whatever it waits for (walking a share, opening the store, another
// worker's chain lock); failures are typed by cause (store-failures.ts).
import { Context } from '@temporalio/activity';
import type { ChainAnchor, IngestPlan, IngestSummary } from '../common/ingest-types';

export interface ChainInput {
  machine: string;
  service: string;
  runId: string;
  /** The run was planned (planAuditLogRun): the chain's files are in the store. */
  planned?: boolean;
}
import { configuredDigestKey, DIGEST_CHAIN_LOCK } from '../store/digest';
import type { ActivityDeps } from './deps';
import { withHeartbeat } from './heartbeat';
import { buildChains, discoverLogFiles, parseLogFileName, type LogFile } from '../audit-log/log-files';
import { dropPlan, plannedPaths, savePlan } from '../store/ingest-plans';
import { ingestChain, type ChainResult } from '../store/ingest-chain';
import { chainAnchor, type Sql } from '../store/store';
import { appendAnchor, readAnchorLog, readLastAnchor, type AnchorEntry } from '../store/anchor-log';
import { notAnchored, refusalMessage } from '../store/anchor-check';
import { permanent } from '../common/failures';
import type { StoreHandle } from './store-handle';
import { sourceFailure, storeFailure } from './store-failures';

const HEARTBEAT_FALLBACK_MS = 30_000;

export function createAuditLogActivities({ config, logger }: ActivityDeps, getStore: StoreHandle) {
  const settings = config.auditSecurityLog;
  const digestKey = configuredDigestKey(settings.digestKey); // in this process only: never in a log, history or the store

  const anchorFile = settings.anchorFile;

  /**
   * Refuses (StoreTampered, not retried) when the chain no longer holds the last anchor; `whole` reads
   * and checks the whole anchor log (once per run), else its last entry.
   */
  async function requireAnchored(store: Sql, whole = false): Promise<AnchorEntry | undefined> {
    let last: AnchorEntry | undefined;
    if (whole) {
      const log = await readAnchorLog(anchorFile, digestKey);
      if (log.problems.length > 0) throw permanent('StoreTampered', refusalMessage(`the anchor log is damaged: ${log.problems[0]?.detail}`));
      last = log.entries.at(-1);
    } else {
      const read = await readLastAnchor(anchorFile, digestKey);
      if (read.problem) throw permanent('StoreTampered', refusalMessage(read.problem));
      last = read.entry;
    }
    const why = await notAnchored(store, last, anchorFile);
    if (why) throw permanent('StoreTampered', refusalMessage(why));
    return last;
  }

  const chains = async () => buildChains(await discoverLogFiles(settings.sources.map((s) => s.directory)));

  /** Runs `fn` heartbeating, and types what it throws. */
  async function guarded<T>(step: string, fn: (progress: (details: object) => void) => Promise<T>): Promise<T> {
    const ctx = Context.current();
    try {
      return await withHeartbeat(ctx, ctx.info.heartbeatTimeoutMs ?? HEARTBEAT_FALLBACK_MS, (beat) => fn(beat.progress), { step });
    } catch (err) {
      if ((err as { name?: string }).name === 'ApplicationFailure' || ctx.cancellationSignal.aborted) throw err;
      throw sourceFailure(err);
    }
  }

  /** Walks the sources once for the whole run and keeps each chain's files in the store for its activity. */
  async function planAuditLogRun(input: { runId: string }): Promise<IngestPlan> {
    return guarded('discovering log files', async (progress) => {
      const found = await chains();
      progress({ step: 'saving the plan', chains: found.length });
      const opened = await getStore().catch((err: unknown) => {
        throw storeFailure(err);
      });
      progress({ step: 'checking the chain against its last anchor' });
      if (!(await requireAnchored(opened, true))) {
        // The anchor log's first entry, before anything is ingested: from here on every chain activity
        // (retried, or in a later run after this one failed) has an anchor to hold the chain to.
        await opened.transaction(async (sql) => {
          if (await requireAnchored(sql)) return;
          await appendAnchor(anchorFile, { type: 'anchor', ...(await chainAnchor(sql)), by: input.runId }, digestKey);
        }, { lock: DIGEST_CHAIN_LOCK });
      }
      const planned = found.map((chain) => ({ machine: chain[0]?.machine ?? '', service: chain[0]?.service ?? '', paths: chain.map((f) => f.path) }));
      await savePlan(opened, input.runId, planned).catch((err: unknown) => {
        throw storeFailure(err);
      });
      return { chains: planned.map((c) => ({ machine: c.machine, service: c.service, files: c.paths.length })), parallelChains: settings.parallelChains };
    });
  }

  // A scheduled and an on-demand run may overlap: one chain is ingested by one activity at a time in
  // this process (and, on PostgreSQL, across processes: see ingestChain).
  const chainLocks = new Map<string, Promise<unknown>>();

  async function ingestAuditLogChain(input: ChainInput): Promise<ChainResult> {
    return guarded('starting', async (progress) => {
      const key = `${input.machine}\u0000${input.service}`;
      const previous = chainLocks.get(key) ?? Promise.resolve();
      const mine = previous
        .catch(() => undefined)
        .then(() => ingestOneChain(input, progress));
      chainLocks.set(key, mine);
      progress({ step: 'waiting for another run of this chain in this worker' });
      try {
        return await mine;
      } finally {
        if (chainLocks.get(key) === mine) chainLocks.delete(key);
      }
    });
  }

  async function ingestOneChain(input: ChainInput, progress: (details: object) => void): Promise<ChainResult> {
    const ctx = Context.current();
    const log = logger.child({ runId: input.runId, machine: input.machine, service: input.service, attempt: ctx.info.attempt });
    progress({ step: 'opening the audit store' });
    const opened = await getStore().catch((err: unknown) => {
      throw storeFailure(err);
    });
    await requireAnchored(opened); // guarded() types what it throws
    // The run's plan names the chain's files (no walk of the sources); without one, discover them.
    const paths = input.planned ? await plannedPaths(opened, input.runId, input.machine, input.service).catch((err: unknown) => {
      throw storeFailure(err);
    }) : undefined;
    progress({ step: paths ? 'reading the planned files' : 'discovering log files' });
    const chain = paths
      ? (buildChains(paths.map((p) => parseLogFileName(p)).filter((f): f is LogFile => f !== undefined))[0] ?? [])
      : ((await chains()).find((c) => c[0]?.machine === input.machine && c[0]?.service === input.service) ?? []);
    progress({ step: 'waiting for the chain lock' });
    const result = await ingestChain(opened, chain, {
      runId: input.runId,
      sequenceMax: settings.sequenceMax,
      signal: ctx.cancellationSignal,
      onProgress: (p) => progress(p),
      onWait: () => progress({ waiting: 'another worker is ingesting this chain' }),
      digestKey,
      columns: settings.columns,
    }).catch((err: unknown) => {
      if (ctx.cancellationSignal.aborted) throw err; // cancelled, or the heartbeat was lost: as the SDK reports it
      throw storeFailure(err);
    });
    log.info({ ...result }, 'audit log chain ingested');
    return result;
  }

  /** Records the run in the store and returns the chain's anchor, which the workflow keeps in history. */
  async function recordIngestRun(summary: IngestSummary): Promise<ChainAnchor> {
    return guarded('recording the run', async () => {
      const opened = await getStore();
      await dropPlan(opened, summary.runId);
      await opened.query(
        `INSERT INTO ingest_runs (id, finished_at, files, rows_stored, findings) VALUES ($1, now(), $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET finished_at = now(), files = EXCLUDED.files, rows_stored = EXCLUDED.rows_stored, findings = EXCLUDED.findings`,
        [summary.runId, summary.files, summary.rowsStored, JSON.stringify(summary.findings)],
      );
      // Under the chain's lock: nothing is appended between the check, the head read and the anchor written.
      return opened.transaction(async (sql) => {
        const last = await requireAnchored(sql);
        const head = await chainAnchor(sql);
        const entry = last && last.batches === head.batches && last.chainHead === head.chainHead && last.storeId === head.storeId
          ? last // nothing new since: the anchor stands
          : await appendAnchor(anchorFile, { type: 'anchor', ...head, by: summary.runId }, digestKey);
        return { ...head, anchorLog: entry.log, anchorNumber: entry.n, anchorFile };
      }, { lock: DIGEST_CHAIN_LOCK });
    });
  }

  return { planAuditLogRun, ingestAuditLogChain, recordIngestRun };
}
