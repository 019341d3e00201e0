// Connects to Temporal and starts the product worker; shared by `qlik-audit worker` and `qlik-audit dev`.
import type { Worker } from '@temporalio/worker';
import type { Config } from '../common/config';
import type { Logger } from '../common/logger';
import { Cleanup } from '../activities/cleanup';
import { connectWorker, temporalTarget } from '../common/temporal-connection';
import { createWorker } from './create-worker';

export interface RunningWorker {
  worker: Worker;
  /** Resolves when the worker has stopped (after shutdown() or a fatal error). */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

export async function startWorker(config: Config, logger: Logger): Promise<RunningWorker> {
  const target = temporalTarget(config);
  let connection;
  try {
    connection = await connectWorker(target);
  } catch (err) {
    throw new Error(`cannot connect to Temporal at ${target.address} (temporal.address / TEMPORAL_ADDRESS): ${(err as Error).message}`);
  }
  const cleanup = new Cleanup();
  const worker = await createWorker({ connection, namespace: target.namespace, taskQueue: target.taskQueue, deps: { config, logger, cleanup } });
  logger.info({ address: target.address, namespace: target.namespace, taskQueue: target.taskQueue }, 'worker started');
  const done = worker
    .run()
    .finally(() => cleanup.run())
    .finally(() => connection.close());
  return {
    worker,
    done,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
