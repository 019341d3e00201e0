// The activities of the audit trail (SPEC 6):
//   recordScreenshotOutcome  a finished captureScreenshot run's outcome (and its event) into the store,
//                            once per run however often it is retried
//   purgeExpiredAuditTrail   the retention purge: rows past auditTrail.retentionDays, then their files
import { unlink } from 'node:fs/promises';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ScreenshotEvent } from '../common/audit-event';
import type { PurgeInput, PurgeResult } from '../common/audit-trail-types';
import type { ScreenshotResult } from '../common/screenshot-result';
import { purgeExpired, recordFilesDeleted } from '../store/retention';
import { insideStorageTargets, storageDirectories } from '../common/stored-files';
import { recordScreenshotOutcome as storeOutcome } from '../store/screenshot-outcomes';
import { configuredDigestKey } from '../store/digest';
import type { ActivityDeps } from './deps';
import { withHeartbeat } from './heartbeat';
import type { StoreHandle } from './store-handle';
import { storeFailure } from './store-failures';

export interface RecordOutcomeInput {
  event: ScreenshotEvent;
  /** The run's result, or why it failed (the last failure's type and message). */
  result?: ScreenshotResult;
  failure?: string;
  /** When the run started (workflowInfo().startTime). */
  startedAt: string;
}

const HEARTBEAT_FALLBACK_MS = 30_000;

/** The workflow run this activity belongs to (these activities only run inside workflows). */
function runOf(ctx: Context): { workflowId: string; runId: string } {
  const execution = ctx.info.workflowExecution;
  if (!execution) throw ApplicationFailure.nonRetryable('this activity runs only inside a workflow', 'BadInput');
  return execution;
}

export function createAuditTrailActivities({ logger, config }: ActivityDeps, getStore: StoreHandle) {
  const digestKey = configuredDigestKey(config.auditSecurityLog.digestKey); // in this process only
  async function recordScreenshotOutcome({ event, result, failure, startedAt }: RecordOutcomeInput): Promise<{ recorded: boolean }> {
    const workflowExecution = runOf(Context.current());
    const store = await getStore().catch((err: unknown) => {
      throw storeFailure(err);
    });
    const recorded = await storeOutcome(store, event, {
      workflowId: workflowExecution.workflowId,
      runId: workflowExecution.runId,
      status: result?.status ?? 'failed',
      reason: result?.reason ?? failure,
      savedPaths: result?.savedPaths ?? [],
      sha256: result?.sha256,
      bytes: result?.bytes,
      contentType: result?.contentType,
      sessionVerified: result?.sessionVerified,
      startedAt,
      finishedAt: new Date().toISOString(),
    }, digestKey).catch((err: unknown) => {
      throw storeFailure(err);
    });
    return { recorded };
  }

  /**
   * A purge deletes what the worker's own configuration allows and no more: whoever can start a
   * workflow (a Temporal operator) must not be able to wipe the trail with a policy of their own.
   */
  function refuseLooserPolicy({ policy }: PurgeInput): void {
    const own = config.auditTrail;
    const lower = (list: readonly string[]) => new Set(list.map((v) => v.toLowerCase()));
    const refuse = (why: string) => {
      throw ApplicationFailure.nonRetryable(`refused: the purge asks to ${why}; a purge may not delete more than auditTrail of this worker's configuration allows`, 'ConfigInvalid');
    };
    if (!(own.retentionDays > 0)) refuse(`keep ${policy.retentionDays} days, and this worker keeps the audit trail for ever (auditTrail.retentionDays 0)`);
    if (policy.retentionDays < own.retentionDays) refuse(`keep ${policy.retentionDays} days, this worker's auditTrail.retentionDays is ${own.retentionDays}`);
    const users = lower(policy.legalHold.users);
    const apps = lower(policy.legalHold.apps);
    const dropped = [...own.legalHold.users.filter((u) => !users.has(u.toLowerCase())), ...own.legalHold.apps.filter((a) => !apps.has(a.toLowerCase()))];
    if (dropped.length > 0) refuse(`lift the legal hold on ${dropped.join(', ')} (auditTrail.legalHold)`);
  }

  async function purgeExpiredAuditTrail(input: PurgeInput): Promise<PurgeResult> {
    const ctx = Context.current();
    refuseLooserPolicy(input);
    return withHeartbeat(ctx, ctx.info.heartbeatTimeoutMs ?? HEARTBEAT_FALLBACK_MS, async (beat) => {
      const store = await getStore().catch((err: unknown) => {
        throw storeFailure(err);
      });
      beat.progress({ step: 'deleting expired events and screenshot outcomes' });
      const purge = await purgeExpired(store, { policy: input.policy, configuredBy: input.configuredBy, runId: runOf(ctx).workflowId, key: digestKey }).catch((err: unknown) => {
        throw storeFailure(err);
      });
      // The rows are gone (committed): now their files. A file already gone (a retried attempt) counts as
      // deleted. Only files inside the storage targets: a path is data a database user can rewrite.
      let deleted = 0;
      let failed = 0;
      const refused: string[] = [];
      const targets = storageDirectories(config);
      for (const [i, file] of purge.files.entries()) {
        if (!insideStorageTargets(file, targets)) {
          refused.push(file);
          logger.warn({ file }, 'retention: refused to delete a file outside the storage targets (screenshots.storageTargets): was the row edited?');
          continue;
        }
        try {
          await unlink(file);
          deleted++;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') deleted++;
          else {
            failed++;
            logger.warn({ file, err: (err as Error).message }, 'retention: could not delete a screenshot file');
          }
        }
        if (i % 500 === 0) beat.progress({ step: 'deleting screenshot files', done: i, of: purge.files.length });
      }
      failed += refused.length;
      await recordFilesDeleted(store, purge.purgeId, deleted, failed).catch((err: unknown) => {
        throw storeFailure(err);
      });
      const { files: _files, ...summary } = purge;
      const result = { ...summary, filesDeleted: deleted, filesFailed: failed, filesRefused: refused.length };
      logger.info(result, 'audit trail purged');
      return result;
    });
  }

  return { recordScreenshotOutcome, purgeExpiredAuditTrail };
}
