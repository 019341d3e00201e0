// Connects to Temporal and starts the product worker; shared by `qlik-audit worker` and `qlik-audit dev`.
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { Config } from '../common/config';
import type { Logger } from '../common/logger';
import type { AuditStore } from '../store/store';
import { Cleanup } from '../common/cleanup';
import { requireSearchAttributes } from '../client/namespace-setup';
import { temporalTarget } from '../client/temporal-target';
import { createWorker, TRACING_WORKFLOW_MODULE } from './create-worker';
import { bundleWorkflowsInChild } from './workflow-bundle';
import { storeHandle } from '../activities/store-handle';
import { redactStoreUrl } from '../common/store-url';

export interface RunningWorker {
  worker: Worker;
  /** The worker's connection: a client on it can start workflows eagerly on this worker (closed when the worker stops). */
  connection: NativeConnection;
  /** Resolves when the worker has stopped (after shutdown() or a fatal error). */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

/** `auditStore`: an already open store to use (and leave open): `dev` shares one embedded store. */
export async function startWorker(config: Config, logger: Logger, options: { auditStore?: AuditStore } = {}): Promise<RunningWorker> {
  const target = temporalTarget(config);
  let connection;
  try {
    connection = await NativeConnection.connect({ address: target.address, apiKey: target.apiKey, tls: target.tls });
  } catch (err) {
    throw new Error(`cannot connect to Temporal at ${target.address} (temporal.address / TEMPORAL_ADDRESS): ${(err as Error).message}`);
  }
  try {
    await requireSearchAttributes(connection, target.namespace);
  } catch (err) {
    await connection.close();
    throw err;
  }
  const cleanup = new Cleanup();
  // The worker's store handle, opened now rather than at the first activity: a misconfigured store is
  // in the log at start, and on the embedded server this worker counts as a user from the start (a
  // receiver stopping meanwhile does not stop the server under it). A store that cannot be opened
  // yet is retried by the activities that need it.
  const auditStore = options.auditStore ? async () => options.auditStore as AuditStore : storeHandle({ config, logger, cleanup });
  auditStore().catch((err: Error) => logger.warn({ store: redactStoreUrl(config.auditSecurityLog.store), err: err.message.split('\n')[0] }, 'the audit store cannot be opened yet; activities that need it retry'));
  const workflowBundle = await bundleWorkflowsInChild(config.telemetry.otlpEndpoint ? [TRACING_WORKFLOW_MODULE] : []);
  const worker = await createWorker({ connection, namespace: target.namespace, taskQueue: target.taskQueue, workflowBundle, deps: { config, logger, cleanup, auditStore } });
  logger.info({ address: target.address, namespace: target.namespace, taskQueue: target.taskQueue }, 'worker started');
  const done = worker
    .run()
    .finally(() => cleanup.run())
    .finally(() => connection.close());
  return {
    worker,
    connection,
    done,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
