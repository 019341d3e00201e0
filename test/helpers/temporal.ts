// One real Temporal server per test process: the dev server (what production behaves like) and,
// where a test needs timers or backoffs to pass instantly, the time-skipping test server.
// Both binaries are resolved (never downloaded) by common/temporal-cli.ts.
import { randomUUID } from 'node:crypto';
import { after } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { msToTs } from '@temporalio/common/lib/time';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { resolveTemporalBinaries } from '../../worker/temporal-cli';
import { searchAttributes } from '../../common/search-attributes';

// Tests print only SDK warnings and errors (TEMPORAL_LOG_LEVEL=INFO to see more).
Runtime.install({ logger: new DefaultLogger((process.env.TEMPORAL_LOG_LEVEL as 'WARN' | undefined) ?? 'WARN') });

let dev: Promise<TestWorkflowEnvironment> | undefined;
let timeSkipping: Promise<TestWorkflowEnvironment> | undefined;

const cleanups: (() => Promise<void>)[] = [];

/** Runs `fn` (e.g. stopping a worker) before the servers are torn down at the end of the file. */
export function beforeServerTeardown(fn: () => Promise<void>): void {
  cleanups.push(fn);
}

// Registered when this module loads, i.e. at the top level of the test file: runs once after all
// its tests (an after() inside a test would run after that test only).
after(async () => {
  await Promise.all(cleanups.splice(0).map((fn) => fn()));
  for (const env of [dev, timeSkipping]) if (env) await (await env).teardown();
});

/**
 * The SDK gives a server 5 s to come up; with two test files (and their servers) on two cores it can
 * take longer now and then. Such a start is tried again, not counted as a failed test.
 */
export async function startWithRetry(start: () => Promise<TestWorkflowEnvironment>): Promise<TestWorkflowEnvironment> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (attempt >= 3 || !/did not start within/.test(String(err))) throw err;
      await sleep(1000 * attempt);
    }
  }
}

/** The real Temporal dev server (same binary as `qlik-audit dev`), with our search attributes. */
export function devServer(): Promise<TestWorkflowEnvironment> {
  if (!dev) {
    const { cli } = resolveTemporalBinaries();
    const start = () =>
      TestWorkflowEnvironment.createLocal({
        server: {
          executable: { type: 'existing-path', path: cli },
          ip: '127.0.0.1',
          searchAttributes,
          ui: true, // the Web UI on port + 1000, for the browser tests
          log: { format: 'json', level: 'error' },
          // As `qlik-audit dev` runs it: runs started on a worker's own connection may start eagerly.
          extraArgs: ['--dynamic-config-value', 'system.enableEagerWorkflowStart=true'],
        },
      });
    dev = startWithRetry(start);
  }
  return dev;
}

/** The time-skipping test server: timers and retry backoffs are skipped when nothing else runs. */
export function timeSkippingServer(): Promise<TestWorkflowEnvironment> {
  if (!timeSkipping) {
    const { testServer } = resolveTemporalBinaries();
    timeSkipping = startWithRetry(() =>
      TestWorkflowEnvironment.createTimeSkipping({
        server: { executable: { type: 'existing-path', path: testServer } },
      }),
    ).then(async (env) => {
      // The test server has no --search-attribute flag: register ours through the operator API.
      await env.connection.operatorService.addSearchAttributes({
        namespace: env.namespace ?? 'default',
        searchAttributes: Object.fromEntries(searchAttributes.map((key) => [key.name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
      });
      return env;
    });
  }
  return timeSkipping;
}

/** A new namespace on the dev server, with none of our search attributes (as on a new cluster). */
export async function freshNamespace(prefix = 'fresh'): Promise<string> {
  const env = await devServer();
  const namespace = `${prefix}-${randomUUID().slice(0, 8)}`;
  await env.connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(86_400_000) });
  for (let i = 0; i < 100; i++) {
    try {
      await env.connection.workflowService.describeNamespace({ namespace });
      return namespace;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`namespace ${namespace} did not appear`);
}
