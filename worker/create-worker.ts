// Builds the one worker that hosts every workflow and activity of the product on `temporal.taskQueue`.
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { makeWorkflowExporter, OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor } from '@temporalio/interceptors-opentelemetry';
import { installTracing } from '../common/tracing';
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

/** The workflow interceptors of traces (in the bundle when telemetry.otlpEndpoint is set). */
export const TRACING_WORKFLOW_MODULE = require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

/** Traces (SPEC 8): activity spans, and the sink workflow spans leave the sandbox through. */
function tracingOptions(options: CreateWorkerOptions): Partial<WorkerOptions> {
  const tracing = installTracing(options.deps.config, 'qlik-audit-worker');
  if (!tracing) return {};
  return {
    sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
    interceptors: {
      // A prebuilt bundle has them built in (bundleWorkflowsInChild with tracing); otherwise bundled here.
      ...(options.workflowBundle ? {} : { workflowModules: [TRACING_WORKFLOW_MODULE] }),
      activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
    },
  };
}

export function createWorker(options: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    ...tracingOptions(options),
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
