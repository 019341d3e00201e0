// A complete screenshot setup for one test: a simulated Qlik with its own PKI, a config pointing at
// it, and a real worker (real activities, real workflow bundle) on the real Temporal dev server.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { stringify as stringifyYaml } from 'yaml';
import { bundleWorkflowCode, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { parseConfig, type Config } from '../../common/config';
import { createLogger } from '../../common/logger';
import { Cleanup } from '../../common/cleanup';
import { createWorker } from '../../worker/create-worker';
import { createPki, type Pki } from '../../demo/simulated-qlik/pki';
import { beforeServerTeardown } from './temporal';
import { SimulatedQlik } from '../../demo/simulated-qlik/simulated-qlik';
import { scratchStoreUrl } from './postgres';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The product's workflow bundle, built once per test process. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never });
  return bundle;
}

let sharedPki: Pki | undefined;
function pki(): Pki {
  sharedPki ??= createPki(mkdtempSync(path.join(tmpdir(), 'qa-pki-')));
  return sharedPki;
}

let sharedQlik: Promise<SimulatedQlik> | undefined;
/** One simulated Qlik per test process (tests use distinct paths and users to stay independent). */
export function simulatedQlik(): Promise<SimulatedQlik> {
  if (!sharedQlik) {
    sharedQlik = new SimulatedQlik({ pki: pki() }).start();
    beforeServerTeardown(async () => (await sharedQlik)?.stop());
  }
  return sharedQlik;
}

export interface Testbed {
  config: Config;
  /** The same configuration as a YAML file, for the CLI and worker processes. */
  configFile: string;
  qlik: SimulatedQlik;
  dir: string;
  taskQueue: string;
  logs: Record<string, unknown>[];
  /** Starts the in-process worker (already started unless `startWorker: false`). */
  startWorker(): Promise<Worker>;
  stop(): Promise<void>;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends (infer U)[] ? U[] : T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** Starts a worker with a config for the simulated Qlik; `overrides` are merged into `screenshots`. */
export async function startTestbed(
  env: TestWorkflowEnvironment,
  overrides: DeepPartial<Config['screenshots']> & { rawConfig?: object; startWorker?: boolean } = {},
): Promise<Testbed> {
  const qlik = await simulatedQlik();
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-shots-'));
  const taskQueue = `shots-${randomUUID()}`;
  const { rawConfig, auth, startWorker = true, ...screenshotOverrides } = overrides;
  const { temporal: rawTemporal, ...rawRest } = (rawConfig ?? {}) as { temporal?: object };
  const raw = {
      temporal: { taskQueue, ...rawTemporal },
      qlik: { cert: pki().files },
      screenshots: {
        allowedImageDownloadHosts: ['127.0.0.1', '127.0.0.2', '127.0.0.3'],
        // The simulated Qlik serves images anywhere; the Printing Service rule is tested on its own.
        allowedImagePaths: ['/'],
        storageTargets: [
          { type: 'flat', directory: path.join(dir, 'a') },
          { type: 'flat', directory: path.join(dir, 'b') },
        ],
        ...screenshotOverrides,
        auth: {
          mode: 'userTicket',
          ...auth,
          qps: { host: '127.0.0.1', port: qlik.qpsPort, ...auth?.qps },
          sessionCache: { enable: true, ttlSeconds: 120, maxEntries: 100, ...auth?.sessionCache },
        },
      },
      // Screenshot outcomes and receiver events go to a PostgreSQL schema of the test's own.
      auditSecurityLog: { store: scratchStoreUrl() },
      ...rawRest,
    };
  const config = parseConfig(raw, { source: 'testbed', baseDir: dir });
  const configFile = path.join(dir, 'config.yaml');
  writeFileSync(configFile, stringifyYaml(raw));
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger('test-worker', { level: 'debug', destination: { write: (line: string) => void logs.push(JSON.parse(line)) } });
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  const cleanup = new Cleanup();
  const start = async () => {
    worker ??= await createWorker({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      deps: { config, logger, cleanup },
      workflowBundle: await workflowBundle(),
    });
    running ??= worker.run().finally(() => cleanup.run()); // as worker/start-worker.ts does
    return worker;
  };
  const stop = async () => {
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await running;
  };
  beforeServerTeardown(stop);
  if (startWorker) await start();
  return { config, configFile, qlik, dir, taskQueue, logs, startWorker: start, stop };
}

export { screenshotEvent } from '../../demo/sample-events';
