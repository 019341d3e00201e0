// Hostile input: mutated event envelopes never get a 5xx or crash the receiver; SSRF spellings and
// redirects never reach a host outside the allow-list; malformed log files give findings or clear
// errors in constant memory.
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createReceiver } from '../client/receiver/server';
import { startCaptureScreenshot } from '../client/start-screenshot';
import { parseConfig } from '../common/config';
import { createLogger } from '../common/logger';
import { auditFile } from './helpers/audit-log-factory';
import { runCli } from './helpers/cli';
import { screenshotEvent } from '../demo/sample-events';
import { startTestbed } from './helpers/screenshot-testbed';
import { devServer } from './helpers/temporal';
import { eventStoreFor } from './helpers/event-store';
import { scratchStoreUrl } from './helpers/postgres';

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be reproduced. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function mutate(value: Json, random: () => number, depth = 0): Json {
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)] as T;
  if (value && typeof value === 'object' && !Array.isArray(value) && random() < 0.7) {
    const copy: { [key: string]: Json } = { ...value };
    const keys = Object.keys(copy);
    const key = pick(keys);
    if (key === undefined) return copy;
    const action = random();
    if (action < 0.3) delete copy[key];
    else copy[key] = mutate(copy[key] as Json, random, depth + 1);
    return copy;
  }
  return pick<Json>([null, 42, -1, 1e308, true, '', 'x'.repeat(70_000), [], {}, [value], { nested: value }, '\u0000\ud800', 'UserDirectory=LAB; UserId=anna', 'https://127.0.0.9/x.png', 'not-a-uuid', '2026-13-45T99:99:99Z']);
}

test('a few thousand mutated envelopes get 202 or a 4xx, never a 5xx, and the receiver keeps answering', async () => {
  const env = await devServer();
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-hostile-'));
  const config = parseConfig({ temporal: { taskQueue: 'hostile-no-worker' }, eventApi: { rateLimitPerMinute: 1_000_000 }, auditSecurityLog: { store: scratchStoreUrl() } }, { source: 'test', baseDir: dir });
  const app = await createReceiver({ config, events: (await eventStoreFor(config)).events, client: env.client, taskQueue: 'hostile-no-worker', logger: createLogger('hostile', { level: 'silent' }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/api/v1/audit-event`;
  const random = rng(20261122);
  const base = screenshotEvent('https://127.0.0.1/tempcontent/x.png') as unknown as Json;
  const bodies: (string | Buffer)[] = [];
  for (let i = 0; i < 2500; i++) {
    let event = base;
    for (let n = 1 + Math.floor(random() * 3); n > 0; n--) event = mutate(event, random);
    bodies.push(JSON.stringify(event));
  }
  bodies.push('['.repeat(100_000) + ']'.repeat(100_000)); // deep nesting
  bodies.push(`{"a":${'{"b":'.repeat(5000)}1${'}'.repeat(5000)}}`);
  bodies.push(Buffer.from([0x7b, 0x22, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d])); // invalid UTF-8
  bodies.push(Buffer.from(Array.from({ length: 4096 }, () => Math.floor(random() * 256)))); // binary garbage
  bodies.push('', 'null', '0', '"string"', '{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"x":1}}}');
  const statuses = new Map<number, number>();
  for (let i = 0; i < bodies.length; i += 50) {
    const answers = await Promise.all(
      bodies.slice(i, i + 50).map(async (body) => {
        const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        await response.arrayBuffer();
        return response.status;
      }),
    );
    for (const status of answers) statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }
  const summary = Object.fromEntries([...statuses].sort(([a], [b]) => a - b));
  process.stdout.write(`hostile envelopes: ${bodies.length} posted, statuses ${JSON.stringify(summary)}\n`);
  for (const status of statuses.keys()) assert.ok(status === 202 || (status >= 400 && status < 500), `status ${status} in ${JSON.stringify(summary)}`);
  assert.ok((statuses.get(400) ?? 0) + (statuses.get(422) ?? 0) > 2000, 'most mutations are rejected');
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
  assert.equal((await fetch(url.replace('audit-event', 'test-connection'))).status, 200);
  await app.close();
});

test('SSRF spellings and redirects to them never reach a host outside the allow-list', async () => {
  const env = await devServer();
  const bed = await startTestbed(env);
  const { qlik } = bed;
  const port = qlik.port(qlik.outsideHost);
  const tricks = [
    `https://127.0.0.9:${port}/a.png`,
    `https://2130706441:${port}/a.png`,
    `https://0177.0.0.011:${port}/a.png`,
    `https://0x7f000009:${port}/a.png`,
    `https://0x7f.0.0.9:${port}/a.png`,
    `https://127.9:${port}/a.png`,
    `https://[::ffff:127.0.0.9]:${port}/a.png`,
    `https://[::ffff:7f00:9]:${port}/a.png`,
    `https://127.0.0.9.:${port}/a.png`,
    `https://127.0.0.1@127.0.0.9:${port}/a.png`,
    `https://127.0.0.1:${port}@127.0.0.9:${port}/a.png`,
    `https://%31%32%37.0.0.9:${port}/a.png`,
    `https://127.0.0.1%2f@127.0.0.9:${port}/a.png`,
    `https://LOCALHOST:${port}/a.png`,
    `http://127.0.0.9:${port}/a.png`,
  ];
  const outcomes: string[] = [];
  for (const [i, trick] of tricks.entries()) {
    // Directly as the screenshot URL …
    const direct = await startCaptureScreenshot(env.client, bed.taskQueue, screenshotEvent(trick, 'LAB\\ssrf'));
    const first = await direct.handle.result();
    // … and as the Location of a redirect from an allowed host.
    qlik.routes.set(`/ssrf/${i}.png`, { kind: 'redirect', location: trick });
    const viaRedirect = await startCaptureScreenshot(env.client, bed.taskQueue, screenshotEvent(qlik.url(`/ssrf/${i}.png`), 'LAB\\ssrf'));
    const second = await viaRedirect.handle.result();
    outcomes.push(`${first.status}/${second.status}`);
    assert.equal(first.status, 'blocked', `direct ${trick}`);
    assert.equal(second.status, 'blocked', `redirect ${trick}`);
  }
  assert.deepEqual(qlik.requestsTo(qlik.outsideHost), [], 'no request ever reached the outside host');
  process.stdout.write(`SSRF: ${tricks.length} spellings x 2 ways, all blocked\n`);
});

test('malformed log files: binary garbage, a truncated BOM and a 200 MB single line give findings in constant memory', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-badlogs-'));
  try {
    const garbage = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919) % 256;
    writeFileSync(path.join(dir, 'JUNK_AuditSecurity_Proxy.txt'), garbage);
    writeFileSync(path.join(dir, 'BOM_AuditSecurity_Proxy.txt'), Buffer.concat([Buffer.from([0xef, 0xbb]), Buffer.from(auditFile(1, 3).slice(1))]));
    const fd = openSync(path.join(dir, 'HUGE_AuditSecurity_Proxy.txt'), 'w');
    writeSync(fd, auditFile(1, 2));
    const block = Buffer.alloc(8 * 1024 * 1024, 0x41);
    for (let i = 0; i < 25; i++) writeSync(fd, block); // 200 MB without a line break
    writeSync(fd, '\r\n');
    closeSync(fd);

    // A heap far smaller than the line: buffering it would crash the process.
    const result = await runCli(['logs', 'verify', dir, '--json'], { env: { NODE_OPTIONS: '--max-old-space-size=64' }, timeoutMs: 120_000 });
    assert.equal(result.status, 1, result.stderr);
    const { findings } = JSON.parse(result.stdout) as { findings: { kind: string; file: string; line: number; detail: string }[] };
    const byFile = (name: string) => findings.filter((f) => path.basename(f.file).startsWith(name)).map((f) => `${f.kind}@${f.line}: ${f.detail}`);
    assert.deepEqual(byFile('HUGE'), ['malformed-row@4: line longer than 1 MiB']);
    assert.match(byFile('JUNK')[0] ?? '', /^bad-header@1/);
    assert.match(byFile('BOM')[0] ?? '', /^bad-header@1: header has no sequence#/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
