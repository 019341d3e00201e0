// The demo's alert sink: a webhook receiver on loopback, as a SIEM's would be, that checks each
// alert's X-Qlik-Audit-Signature and appends the alerts it accepts to a JSON-lines file, so the demo
// shows detections delivered end to end (and `qlik-audit alerts test --sink demo-siem` has a sink).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { signatureOf } from '../alerts/webhook';

const DEMO_SINK_NAME = 'demo-siem';
const MAX_BODY = 1024 * 1024;

export interface DemoSiem {
  /** The webhook sink, as config (`alerts.sinks[]`). */
  sink: { name: string; type: 'webhook'; url: string; secret: string };
  /** Where accepted alerts are appended, one JSON object per line. */
  file: string;
  stop(): Promise<void>;
}

export async function startDemoSiem(file: string): Promise<DemoSiem> {
  const secret = randomBytes(24).toString('hex');
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/alerts') return void res.writeHead(404).end();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(chunk);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const expected = Buffer.from(signatureOf(body, secret));
      const given = Buffer.from(String(req.headers['x-qlik-audit-signature'] ?? ''));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return void res.writeHead(401).end('bad signature');
      appendFileSync(file, `${body.replace(/\n/g, ' ')}\n`);
      res.writeHead(204).end();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    sink: { name: DEMO_SINK_NAME, type: 'webhook', url: `http://127.0.0.1:${port}/alerts`, secret },
    file,
    stop: () => new Promise<void>((resolve) => (server.close(() => resolve()), server.closeAllConnections())),
  };
}
