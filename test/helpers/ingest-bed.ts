// A worker of the real product on the suite's dev server, ingesting `sources` into `storeUrl`, with its
// config resolved against `sources` (so a config.yaml written there for the CLI names the same anchor
// file); stopped at teardown. `extra` goes into auditSecurityLog, `sections` beside it (detections, alerts, …).
import { randomUUID } from 'node:crypto';
import { startIngestNow } from '../../client/ingest-schedule';
import { parseConfig, type Config } from '../../common/config';
import { createLogger } from '../../common/logger';
import { openStore } from '../../store/store';
import { createWorker } from '../../worker/create-worker';
import { workflowBundle } from './screenshot-testbed';
import { beforeServerTeardown, devServer } from './temporal';

export async function ingestBed(storeUrl: string, sources: string, extra: object = {}, sections: object = {}) {
  const env = await devServer();
  const taskQueue = `ingest-${randomUUID()}`;
  const config: Config = parseConfig({ ...sections, temporal: { taskQueue }, auditSecurityLog: { sources: [{ directory: sources }], store: storeUrl, ...extra } }, { source: 'test', baseDir: sources });
  const store = await openStore(config.auditSecurityLog.store);
  const worker = await createWorker({
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue,
    deps: { config, logger: createLogger('test', { level: 'error' }), auditStore: async () => store },
    workflowBundle: await workflowBundle(),
  });
  const running = worker.run();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    worker.shutdown();
    await running;
    await store.close();
  };
  beforeServerTeardown(stop);
  const ingest = async () => (await startIngestNow(env.client, taskQueue)).result();
  return { env, config, store, taskQueue, ingest, stop };
}
