// OpenTelemetry traces (SPEC 8): when telemetry.otlpEndpoint is set, one tracer provider per process
// exports spans over OTLP/HTTP (<endpoint>/v1/traces), with the async context that carries a span
// from the receiver's request into the workflow start; Temporal's interceptors carry it on through
// the workflow and every activity. Nothing is set up, and nothing exported, when it is not set.
import { context, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Config } from './config';
import { PRODUCT_VERSION } from './product-version';

export interface Tracing {
  resource: Resource;
  spanProcessor: SpanProcessor;
  /** Sends what is buffered (at shutdown, and by tests). */
  flush(): Promise<void>;
}

let installed: Tracing | undefined;

export function installTracing(config: Pick<Config, 'telemetry'>, serviceName: string): Tracing | undefined {
  const endpoint = config.telemetry.otlpEndpoint;
  if (!endpoint) return undefined;
  if (installed) return installed;
  const resource = new Resource({ 'service.name': serviceName, 'service.version': PRODUCT_VERSION });
  const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` }), { scheduledDelayMillis: 500 });
  const provider = new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register({ contextManager: new AsyncLocalStorageContextManager() });
  installed = { resource, spanProcessor, flush: () => provider.forceFlush() };
  return installed;
}

/** Ours, made once: a proxy that turns into the real tracer once installTracing registers one. */
const tracer = trace.getTracer('qlik-audit');

/** Runs `fn` inside a span of its own (a no-op span when tracing is off); the span ends with it. */
export async function inSpan<T>(name: string, attributes: Record<string, string | number | boolean>, fn: (span: Span) => Promise<T>): Promise<T> {
  const span = tracer.startSpan(name, { attributes });
  try {
    return await context.with(trace.setSpan(context.active(), span), () => fn(span));
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: 2, message: (err as Error).message.slice(0, 200) });
    throw err;
  } finally {
    span.end();
  }
}
