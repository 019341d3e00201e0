// Traces (SPEC 8): with telemetry.otlpEndpoint set, one screenshot event posted to the receiver is
// one trace — the receiver's span, the workflow start, the run and each of its activities — exported
// over OTLP/HTTP to a collector started here.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { startReceiver } from '../client/receiver/start-receiver';
import { createLogger } from '../common/logger';
import { installTracing } from '../common/tracing';
import { screenshotEvent } from '../demo/sample-events';
import { createWorker } from '../worker/create-worker';
import { freePort } from './helpers/ports';
import { startTestbed } from './helpers/screenshot-testbed';
import { beforeServerTeardown, devServer } from './helpers/temporal';

interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
}
const spans: ExportedSpan[] = [];
const collector = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    if (req.url === '/v1/traces') {
      const parsed = JSON.parse(body) as { resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: ExportedSpan[] }[] }[] };
      for (const rs of parsed.resourceSpans) {
        const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
        for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId || undefined, name: s.name, service });
      }
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
after(() => collector.close());

test('one trace per event: receiver → workflow start → run → every activity, exported over OTLP', async () => {
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  const env = await devServer();
  const bed = await startTestbed(env, { startWorker: false, rawConfig: { temporal: { address: env.address }, telemetry: { otlpEndpoint: endpoint }, eventApi: { port: await freePort() } } });
  // A worker that bundles the workflows itself, with the tracing interceptors in.
  const logger = createLogger('test', { level: 'error' });
  const worker = await createWorker({ connection: env.nativeConnection, namespace: 'default', taskQueue: bed.taskQueue, deps: { config: bed.config, logger } });
  const running = worker.run();
  beforeServerTeardown(async () => {
    worker.shutdown();
    await running;
  });
  const receiver = await startReceiver(bed.config, logger);
  try {
    const event = screenshotEvent(bed.qlik.url('/tempcontent/traced.png'), 'UserDirectory=LAB; UserId=anna');
    const res = await fetch(`${receiver.url}/api/v1/audit-event`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
    const text = await res.text();
    assert.equal(res.status, 202, text);
    const { workflowId } = JSON.parse(text) as { workflowId: string };
    assert.equal((await env.client.workflow.getHandle(workflowId).result()).status, 'stored');
    await installTracing(bed.config, 'unused')?.flush();
    const deadline = Date.now() + 15_000;
    const wanted = ['receive audit event', 'StartWorkflow:captureScreenshot', 'RunWorkflow:captureScreenshot', 'RunActivity:downloadAndStoreScreenshot', 'RunActivity:recordScreenshotOutcome'];
    while (Date.now() < deadline && !wanted.every((n) => spans.some((s) => s.name === n))) await new Promise((r) => setTimeout(r, 200));
    const root = spans.find((s) => s.name === 'receive audit event');
    assert.ok(root, `spans: ${spans.map((s) => s.name).join(', ')}`);
    const trace = spans.filter((s) => s.traceId === root.traceId);
    const names = trace.map((s) => s.name);
    for (const name of wanted) assert.ok(names.includes(name), `${name} in the event's trace: ${names.join(', ')}`);
    // A tree: every span but the root has its parent in the trace, and the chain runs receiver → start → run → activity.
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    for (const s of trace) if (s !== root) assert.ok(s.parentSpanId && byId.has(s.parentSpanId), `${s.name} hangs off a span of the trace`);
    const parentName = (name: string) => byId.get(trace.find((s) => s.name === name)?.parentSpanId ?? '')?.name;
    assert.equal(root.parentSpanId, undefined, 'the receiver span is the root');
    assert.equal(parentName('StartWorkflow:captureScreenshot'), 'receive audit event');
    assert.equal(parentName('RunWorkflow:captureScreenshot'), 'StartWorkflow:captureScreenshot');
    const ancestors = (name: string) => {
      const out: string[] = [];
      for (let s = trace.find((x) => x.name === name); s?.parentSpanId; s = byId.get(s.parentSpanId)) out.push(byId.get(s.parentSpanId)?.name ?? '?');
      return out;
    };
    assert.ok(ancestors('RunActivity:downloadAndStoreScreenshot').includes('RunWorkflow:captureScreenshot'));
    assert.ok(trace.some((s) => s.service === 'qlik-audit-worker' || s.service === 'qlik-audit-receiver'));
    assert.equal(new Set(spans.filter((s) => wanted.includes(s.name)).map((s) => s.traceId)).size, 1, 'one trace for the event');
  } finally {
    await receiver.close();
  }
});
