// `logs verify` on the real Qlik sample files, and on tampered copies made at test time: each kind of
// tampering gives exactly the expected finding (SPEC 5.3, 5.4).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { buildChains, discoverLogFiles, parseLogFileName } from '../audit-log/log-files';
import { parseQlikTimestamp } from '../audit-log/rows';
import { verifyChains, type Finding } from '../audit-log/scanner';
import { ARCHIVE_1, ARCHIVE_2, LIVE, SAMPLES, auditFile, auditRow, copySamples, tamper, withValidChecksum } from './helpers/audit-log-factory';
import { runCli } from './helpers/cli';

async function verify(dir: string, sequenceMax = 2147483647) {
  return verifyChains(buildChains(await discoverLogFiles([dir])), { sequenceMax });
}

const errors = (findings: Finding[]) => findings.filter((f) => f.severity === 'error').map((f) => [f.kind, path.basename(f.file), f.line, f.sequence, f.detail]);

test('the sample files in the repository are the upstream files, byte for byte (SHA256SUMS)', () => {
  const sums = readFileSync(path.join(SAMPLES, 'SHA256SUMS'), 'utf8').trim().split('\n');
  assert.equal(sums.length, 5);
  for (const line of sums) {
    const [sum, file] = line.split(/\s+/);
    assert.equal(createHash('sha256').update(readFileSync(path.join(SAMPLES, file as string))).digest('hex'), sum, file);
  }
});

test('the real sample files verify clean: counts, ranges, signature, and the restart between archives', async () => {
  const result = await verify(SAMPLES);
  assert.equal(result.ok, true);
  assert.deepEqual(
    result.files.map((f) => [path.basename(f.path), f.live, f.closedAt, f.rows, f.firstSequence, f.lastSequence, f.signature]),
    [
      [path.basename(ARCHIVE_1), false, '2019-01-31T15:23:36Z', 2, 1, 2, 'absent'],
      [path.basename(ARCHIVE_2), false, '2019-02-01T03:59:01Z', 141, 1, 141, 'present'],
      [path.basename(LIVE), true, null, 138, 142, 279, 'absent'],
    ],
  );
  assert.deepEqual(
    result.findings.map((f) => [f.kind, f.severity, path.basename(f.file), f.line, f.sequence]),
    [['service-restart', 'info', path.basename(ARCHIVE_2), 2, 1]],
  );
  assert.equal(result.files[0]?.machine, 'QLIKSERVER1');
  assert.equal(result.files[0]?.service, 'Repository');
});

test('tampering: each change gives exactly the expected error finding', async () => {
  const cases: [string, (dir: string) => void, unknown[][]][] = [
    ['deleted row', (d) => tamper(d, ARCHIVE_2, (l) => l.filter((_, i) => i !== 51)), [['sequence-gap', path.basename(ARCHIVE_2), 52, 52, 'expected 51']]],
    ['older row replayed later', (d) => tamper(d, ARCHIVE_2, (l) => [...l.slice(0, 51), l[10] as string, ...l.slice(51)]), [['sequence-regression', path.basename(ARCHIVE_2), 52, 10, 'expected 51']]],
    ['row repeated', (d) => tamper(d, ARCHIVE_2, (l) => [...l.slice(0, 21), l[20] as string, ...l.slice(21)]), [['duplicate-row', path.basename(ARCHIVE_2), 22, 20, 'row 20 appears again']]],
    ['edited row', (d) => tamper(d, ARCHIVE_2, (l) => l.map((x, i) => (i === 30 ? x.split('\t').map((f, j) => (j === 10 ? 'attacker' : f)).join('\t') : x))), [['checksum-mismatch', path.basename(ARCHIVE_2), 31, 30]]],
    ['removed signature', (d) => tamper(d, ARCHIVE_2, (l) => l.filter((x) => !x.startsWith('Signature:'))), [['missing-signature', path.basename(ARCHIVE_2), 143, undefined]]],
    ['malformed signature', (d) => tamper(d, ARCHIVE_2, (l) => l.map((x) => (x.startsWith('Signature:') ? 'Signature:\tnot-hex' : x))), [['malformed-signature', path.basename(ARCHIVE_2), 143, undefined]]],
    ['gap across the roll-over', (d) => tamper(d, LIVE, (l) => l.filter((_, i) => i !== 1)), [['sequence-gap', path.basename(LIVE), 2, 143, 'expected 142']]],
    ['dropped field', (d) => tamper(d, ARCHIVE_2, (l) => l.map((x, i) => (i === 40 ? x.split('\t').filter((_, j) => j !== 4).join('\t') : x))), [['malformed-row', path.basename(ARCHIVE_2), 41, 40, '21 fields, the header has 22']]],
    ['renamed header column', (d) => tamper(d, LIVE, (l) => l.map((x, i) => (i === 0 ? x.replace('\tChecksum', '\tChksum') : x))), [['bad-header', path.basename(LIVE), 1, undefined]]],
    ['bad timestamp', (d) => tamper(d, ARCHIVE_2, (l) => l.map((x, i) => (i === 60 ? withValidChecksum(x.replace(/\t2019\d{4}T\d{6}\.\d{3}[+-]\d{4}\t/, '\t2019-01-31 17:12:00\t')) : x))), [['bad-timestamp', path.basename(ARCHIVE_2), 61, 60]]],
  ];
  for (const [name, change, expected] of cases) {
    const dir = copySamples();
    change(dir);
    const result = await verify(dir);
    const got = errors(result.findings).map((f, i) => f.slice(0, (expected[i] ?? f).length));
    assert.deepEqual(got, expected, name);
    assert.equal(result.ok, false, name);
  }
});

test('a half-written last row of the live file is info only and not counted', async () => {
  const dir = copySamples();
  appendFileSync(path.join(dir, LIVE), '280\t20.4.2.0\t20190201T060000.000+0100\tQlikServer1\tabc');
  const result = await verify(dir);
  assert.equal(result.ok, true);
  assert.equal(result.files.find((f) => f.live)?.rows, 138);
  const incomplete = result.findings.find((f) => f.kind === 'incomplete-row');
  assert.deepEqual([incomplete?.severity, incomplete?.line], ['info', 140]);
});

test('sequence wrap-around after sequenceMax continues the chain; a rolled file needs its signature across it', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-wrap-'));
  writeFileSync(path.join(dir, 'NODE_A_AuditSecurity_Proxy_2026-01-01T00.00.10Z.log'), auditFile(95, 100, { signed: true }));
  writeFileSync(path.join(dir, 'NODE_A_AuditSecurity_Proxy.txt'), auditFile(1, 5, { start: new Date(Date.UTC(2026, 0, 1, 0, 1)) }));
  const wrapped = await verify(dir, 100);
  assert.deepEqual(wrapped.findings, [], 'after 100 comes 1: no finding at all');
  assert.equal(wrapped.files[0]?.machine, 'NODE_A', 'machine names may contain _');
  const restarted = await verify(dir);
  assert.deepEqual(restarted.findings.map((f) => f.kind), ['service-restart'], 'with the default maximum it is a restart');
});

test('timestamps and file names are parsed as Qlik writes them', () => {
  assert.equal(parseQlikTimestamp('20190131T161855.589+0100'), '2019-01-31T15:18:55.589Z');
  assert.equal(parseQlikTimestamp('20190131T161855.589+01:00'), '2019-01-31T15:18:55.589Z');
  assert.equal(parseQlikTimestamp('20190131T101855.589-0530'), '2019-01-31T15:48:55.589Z');
  assert.equal(parseQlikTimestamp('20190131T161855.589-05:30'), '2019-01-31T21:48:55.589Z');
  for (const bad of ['2019-01-31 16:18:55', '20190231T161855.589+0100', '20190131T161855+0100', '20190131T161855.589Z', '']) assert.equal(parseQlikTimestamp(bad), undefined, bad);
  assert.deepEqual(parseLogFileName('/x/MY_HOST_01_AuditSecurity_Scheduler_2024-05-06T07.08.09Z.log'), {
    path: '/x/MY_HOST_01_AuditSecurity_Scheduler_2024-05-06T07.08.09Z.log', machine: 'MY_HOST_01', service: 'Scheduler', live: false, closedAt: '2024-05-06T07:08:09Z',
  });
  assert.equal(parseLogFileName('QLIKSERVER1_License_Repository_2019-02-01T03.39.00Z.log'), undefined);
  assert.equal(auditRow(1, new Date(0)).split('\t').length, 22);
});

test('qlik-audit logs verify: exit codes, human and JSON output', async () => {
  const clean = await runCli(['logs', 'verify', SAMPLES]);
  assert.equal(clean.status, 0, clean.stderr);
  assert.match(clean.stdout, /rows 141, sequence 1\.\.141, signature present/);
  assert.match(clean.stdout, /Info \(1\):\n\s+service-restart/);
  assert.match(clean.stdout, /OK: no error findings/);

  const dir = copySamples();
  tamper(dir, ARCHIVE_2, (l) => l.filter((_, i) => i !== 51));
  const tampered = await runCli(['logs', 'verify', dir, '--json']);
  assert.equal(tampered.status, 1);
  const json = JSON.parse(tampered.stdout);
  assert.deepEqual(Object.keys(json), ['ok', 'files', 'findings']);
  assert.equal(json.ok, false);
  assert.deepEqual(Object.keys(json.files[0]).sort(), ['closedAt', 'firstSequence', 'lastSequence', 'live', 'machine', 'path', 'rows', 'service', 'signature']);
  assert.deepEqual(json.findings.find((f: Finding) => f.kind === 'sequence-gap'), {
    kind: 'sequence-gap', severity: 'error', file: path.join(dir, ARCHIVE_2), line: 52, sequence: 52, detail: 'expected 51',
  });

  const missing = await runCli(['logs', 'verify', '/nonexistent/logs']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /cannot read \/nonexistent\/logs: ENOENT/);
  assert.equal((await runCli(['logs', 'verify'])).status, 2);
  assert.equal((await runCli(['logs', 'verify', path.join(SAMPLES, 'archived/QLIKSERVER1_License_Repository_2019-02-01T03.39.00Z.log')])).status, 2);

  // A folder without a single AuditSecurity file (a typo, the wrong share) is not a clean audit.
  const empty = mkdtempSync(path.join(tmpdir(), 'qa-empty-'));
  writeFileSync(path.join(empty, 'QLIKSERVER1_System_Repository.txt'), 'not ours');
  const nothing = await runCli(['logs', 'verify', empty]);
  assert.equal(nothing.status, 2);
  assert.equal(nothing.stdout, '');
  assert.equal(nothing.stderr, `qlik-audit logs verify: no AuditSecurity log file in ${empty} (looked for <Machine>_AuditSecurity_<Service>.txt and <Machine>_AuditSecurity_<Service>_<YYYY-MM-DDTHH.mm.ss>Z.log, in sub-folders too)\n`);
  const nothingJson = await runCli(['logs', 'verify', empty, '--json']);
  assert.equal(nothingJson.status, 2);
  assert.deepEqual(JSON.parse(nothingJson.stdout), { ok: false, files: [], findings: [], reason: nothing.stderr.replace('qlik-audit logs verify: ', '').trim() });
});
