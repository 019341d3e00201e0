// Builds the one worker that hosts every workflow and activity of the product on `temporal.taskQueue`.
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { dataConverterFor } from '../common/encryption-codec';

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** Pre-built workflow bundle (tests build it once); otherwise the workflows folder is bundled now. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  identity?: string;
}

export function createWorker(options: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(options.identity ? { identity: options.identity } : {}),
    activities: createActivities(options.deps),
    // Payloads encrypted when temporal.encryption is set (SPEC 8).
    dataConverter: dataConverterFor(options.deps.config),
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
    // A download in flight gets this long to finish before the worker stops; heartbeat timeouts
    // let another worker take over anything that does not.
    shutdownGraceTime: '10s',
  });
}
