// Audit log integrity you can prove (SPEC 5.2, 5.6):
//   - the header line, covered by no checksum, must be Qlik's documented layout (or the configured
//     one): renamed, swapped, missing, extra or moved columns are a bad-header error naming the first
//     difference, and the file's rows are stored marked as not trustworthy;
//   - the digest chain covers rows and findings, can be keyed (HMAC), and is checked against anchors
//     kept outside the database: every way to falsify the store is reported with its kind, on
//     on a PostgreSQL schema and on an embedded store restored from a copy of its folder.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { buildChains, discoverLogFiles } from '../audit-log/log-files';
import { QLIK_AUDIT_SECURITY_COLUMNS } from '../audit-log/rows';
import { verifyChains, type Finding } from '../audit-log/scanner';
import { batchDigest, digestKey, type DigestKey } from '../store/digest';
import { ingestChain } from '../store/ingest-chain';
import { chainAnchor, openStore, type AuditStore } from '../store/store';
import { verifyStore, type Anchor } from '../store/verify-store';
import { ARCHIVE_2, auditFile, copySamples, HEADER, tamper, withValidChecksum } from './helpers/audit-log-factory';
import { POSTGRES } from './helpers/postgres';

const COLUMNS = HEADER.split('\t');

/** A file whose header is `header` and whose rows carry the fields in that order, with valid checksums. */
function fileWithHeader(header: string[]): string {
  const rows = auditFile(1, 5).split('\r\n').slice(1).filter(Boolean).map((line) => {
    const byName = new Map(COLUMNS.map((name, i) => [name.toLowerCase(), line.split('\t')[i] ?? '']));
    return withValidChecksum(`${header.slice(0, -1).map((name) => byName.get(name.toLowerCase()) ?? 'x').join('\t')}\t`);
  });
  return `\ufeff${[header.join('\t'), ...rows].join('\r\n')}\r\n`;
}

async function verifyOne(header: string[], columns?: string[]): Promise<Finding[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-header-'));
  writeFileSync(path.join(dir, 'NODE5_AuditSecurity_Proxy.txt'), fileWithHeader(header));
  return (await verifyChains(buildChains(await discoverLogFiles([dir])), { sequenceMax: 2147483647, columns })).findings;
}

test('the header must be Qlik’s documented layout: each deviation is one bad-header error naming the first difference', async () => {
  const swap = (a: number, b: number) => COLUMNS.map((c, i) => (i === a ? COLUMNS[b] : i === b ? COLUMNS[a] : c)) as string[];
  const cases: [string, string[], RegExp][] = [
    ['swapped UserDirectory/UserId', swap(9, 10), /^column 10 is UserId, expected UserDirectory \(found as column 11\): the header differs from Qlik's documented AuditSecurity layout/],
    ['renamed', COLUMNS.map((c) => (c === 'ObjectName' ? 'ObjectTitle' : c)), /^column 13 is ObjectTitle, expected ObjectName:/],
    ['missing', COLUMNS.filter((c) => c !== 'Origin'), /^column 17 is Context, expected Origin:/],
    ['extra', [...COLUMNS.slice(0, -1), 'TenantId', 'Checksum'], /^column 22 is TenantId, expected Checksum \(found as column 23\):/],
    ['moved', [COLUMNS[0] as string, COLUMNS[2] as string, COLUMNS[1] as string, ...COLUMNS.slice(3)], /^column 2 is Timestamp, expected ProductVersion \(found as column 3\):/],
  ];
  for (const [name, header, detail] of cases) {
    const findings = await verifyOne(header);
    const bad = findings.filter((f) => f.kind === 'bad-header');
    assert.equal(bad.length, 1, `${name}: ${JSON.stringify(findings)}`);
    assert.equal(bad[0]?.severity, 'error');
    assert.equal(bad[0]?.line, 1);
    assert.match(bad[0]?.detail ?? '', detail, name);
    assert.equal(findings.filter((f) => f.kind === 'checksum-mismatch').length, 0, `${name}: the rows are still checked, and their checksums hold`);
  }
  assert.deepEqual(await verifyOne([...COLUMNS]), [], 'the documented layout');
  assert.deepEqual(await verifyOne(COLUMNS.map((c) => (c === 'Hostname' ? 'HostName' : c))), [], 'names compared case-insensitively (the docs say HostName)');
  const custom = swap(9, 10);
  assert.deepEqual(await verifyOne(custom, custom), [], 'a site layout listed in auditSecurityLog.columns');
  assert.equal(QLIK_AUDIT_SECURITY_COLUMNS.length, COLUMNS.length);
  const samples = await verifyChains(buildChains(await discoverLogFiles([copySamples()])), { sequenceMax: 2147483647 });
  assert.equal(samples.findings.filter((f) => f.severity === 'error').length, 0, 'the real samples stay clean');
});

const KEY = digestKey('correct horse battery staple') as DigestKey;

/** Rows and findings of a small chain (a sample copy with a gap and a restart), ingested with `key`. */
async function ingestSamples(store: AuditStore, key: DigestKey | undefined): Promise<Anchor> {
  const dir = copySamples();
  tamper(dir, ARCHIVE_2, (lines) => lines.filter((_, i) => i !== 40)); // a gap: an error finding in the chain
  const [chain] = buildChains(await discoverLogFiles([dir]));
  await ingestChain(store, chain ?? [], { runId: 'integrity', sequenceMax: 2147483647, digestKey: key, batchSize: 50 });
  return { ...(await chainAnchor(store)), source: 'the test ingest' };
}

type Tamper = { name: string; kind: string; also?: string[]; sql: string[]; anchor?: boolean };
const TAMPERS: Tamper[] = [
  { name: 'UPDATE a row', kind: 'rows-changed', sql: [`UPDATE audit_rows SET user_id = 'someone-else' WHERE sequence = 60`] },
  // The gap it leaves is seen twice: by the batch's hash, and by the stored sequence (nothing explains 60 → 62).
  { name: 'DELETE a row', kind: 'rows-deleted', also: ['rows-missing'], sql: [`DELETE FROM audit_rows WHERE sequence = 61`] },
  { name: 'INSERT a row', kind: 'rows-added', also: ['rows-missing'], sql: [`INSERT INTO audit_rows SELECT machine, service, file_name, 9999, ts_utc, ts_text, product_version, hostname, event_id, description, proxy_session_id, proxy_package_id, request_sequence_id, user_directory, user_id, object_id, object_name, security_class, client_host_address, origin_service, origin, context, command, result, message, extra, 'forged', checksum_valid, header_ok, line + 100000, batch_id FROM audit_rows WHERE sequence = 62 LIMIT 1`] },
  { name: 'UPDATE a finding', kind: 'findings-changed', sql: [`UPDATE audit_findings SET severity = 'info' WHERE kind = 'sequence-gap'`] },
  { name: 'DELETE a finding', kind: 'findings-deleted', also: ['rows-missing'], sql: [`DELETE FROM audit_findings WHERE kind = 'sequence-gap'`] },
  {
    name: 'DELETE the newest batch with its rows and findings',
    kind: 'truncated',
    anchor: true,
    sql: [
      `DELETE FROM audit_rows WHERE batch_id = (SELECT max(id) FROM audit_batches)`,
      `DELETE FROM audit_findings WHERE batch_id = (SELECT max(id) FROM audit_batches)`,
      `DELETE FROM audit_batches WHERE id = (SELECT max(id) FROM audit_batches)`,
    ],
  },
];

/** Recomputes every digest of the chain in SHA-256, as someone with write access but not the key would. */
async function recomputeWithoutKey(store: AuditStore, downgrade: boolean): Promise<void> {
  const { rows } = await store.query<Record<string, string | number>>('SELECT * FROM audit_batches ORDER BY id');
  let previous = '0'.repeat(64);
  for (const b of rows) {
    const content = { machine: String(b.machine), service: String(b.service), fileName: String(b.file_name), rowCount: Number(b.row_count), findingCount: Number(b.finding_count), rowsHash: String(b.rows_hash), findingsHash: String(b.findings_hash) };
    const digest = batchDigest(previous, content, undefined);
    await store.query(`UPDATE audit_batches SET prev_digest = $1, digest = $2${downgrade ? ', keyed = false, key_id = NULL' : ''} WHERE id = $3`, [previous, digest, b.id]);
    previous = digest;
  }
}

for (const kind of ['postgres', 'embedded'] as const) {
  test(`${kind}: every way to falsify the keyed store is reported with its kind; a clean store passes`, async () => {
    // One store ingested once; each tamper works on a copy of it (a schema copy, or a copy of the
    // embedded store's folder once its server has stopped: a cold backup, restored).
    const fresh: () => Promise<{ store: AuditStore; anchor: Anchor; drop: () => Promise<void> }> =
      kind === 'postgres'
        ? async () => {
            const schema = `qa_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
            const store = await openStore(`${POSTGRES}?schema=${schema}`);
            const anchor = await ingestSamples(store, KEY);
            return { store, anchor, drop: async () => (await store.query(`DROP SCHEMA ${schema} CASCADE`), await store.close()) };
          }
        : await (async () => {
            const original = mkdtempSync(path.join(tmpdir(), 'qa-embedded-integrity-'));
            const first = await openStore(`embedded:${original}`);
            const anchor = await ingestSamples(first, KEY);
            await first.close();
            return async () => {
              const copy = mkdtempSync(path.join(tmpdir(), 'qa-embedded-copy-'));
              cpSync(original, copy, { recursive: true });
              const store = await openStore(`embedded:${copy}`);
              return { store, anchor, drop: () => store.close() };
            };
          })();

    const clean = await fresh();
    try {
      const result = await verifyStore(clean.store, { key: KEY, anchors: [clean.anchor] });
      assert.deepEqual([result.ok, result.keyed, result.anchorsChecked, result.problems], [true, true, 1, []]);
      assert.ok(result.batches >= 3 && result.rows > 200, JSON.stringify(result));
      assert.deepEqual((await verifyStore(clean.store, {})).problems.map((p) => p.kind), ['key-missing'], 'a keyed store does not verify without its key');
      assert.deepEqual((await verifyStore(clean.store, { key: digestKey('wrong key') })).problems.map((p) => p.kind), ['key-wrong']);
    } finally {
      await clean.drop();
    }

    for (const t of TAMPERS) {
      const { store, anchor, drop } = await fresh();
      try {
        for (const statement of t.sql) await store.query(statement);
        const result = await verifyStore(store, { key: KEY, anchors: [anchor] });
        assert.equal(result.ok, false, t.name);
        assert.deepEqual([...new Set(result.problems.map((p) => p.kind))], [t.kind, ...(t.also ?? [])], `${t.name}: ${JSON.stringify(result.problems)}`);
        if (!t.anchor) assert.ok(result.problems[0]?.batch, `${t.name}: names the batch`);
        else assert.equal((await verifyStore(store, { key: KEY })).ok, true, `${t.name}: the chain alone cannot show it, the anchor does`);
      } finally {
        await drop();
      }
    }

    const recomputed = await fresh();
    try {
      await recomputeWithoutKey(recomputed.store, false);
      const result = await verifyStore(recomputed.store, { key: KEY });
      assert.equal(result.problems[0]?.kind, 'digest-mismatch', 'recomputed without the key: the first batch already fails');
      assert.match(result.problems[0]?.detail ?? '', /the chain was recomputed without it/);
    } finally {
      await recomputed.drop();
    }
    const downgraded = await fresh();
    try {
      await recomputeWithoutKey(downgraded.store, true); // made to look like a chain that never had a key
      const result = await verifyStore(downgraded.store, { key: KEY, anchors: [downgraded.anchor] });
      assert.deepEqual(result.problems.map((p) => p.kind), ['unkeyed-batch', 'anchor-mismatch'], 'the configured key requires keyed batches; the anchor outside the database shows it too');
      // Without any anchor, the configured key alone catches it: every batch must be keyed.
      const alone = await verifyStore(downgraded.store, { key: KEY });
      assert.equal(alone.ok, false);
      assert.deepEqual(alone.problems.map((p) => p.kind), ['unkeyed-batch']);
      assert.match(alone.problems[0]?.detail ?? '', /a plain SHA-256 entry in a store verified with a key .*\((\d+) of \1 batches are unkeyed\)/);
    } finally {
      await downgraded.drop();
    }
  });
}

test('rows of a file with a bad header are stored marked as not trustworthy', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-badheader-'));
  const swapped = COLUMNS.map((c, i) => (i === 9 ? COLUMNS[10] : i === 10 ? COLUMNS[9] : c)) as string[];
  writeFileSync(path.join(dir, 'NODE6_AuditSecurity_Proxy.txt'), fileWithHeader(swapped));
  writeFileSync(path.join(dir, 'NODE7_AuditSecurity_Proxy.txt'), auditFile(1, 5));
  const schema = `qa_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const store = await openStore(`${POSTGRES}?schema=${schema}`);
  try {
    for (const chain of buildChains(await discoverLogFiles([dir]))) await ingestChain(store, chain, { runId: 'header', sequenceMax: 2147483647 });
    const { rows } = await store.query<{ machine: string; header_ok: boolean; n: string }>('SELECT machine, header_ok, count(*) AS n FROM audit_rows GROUP BY 1, 2 ORDER BY 1');
    assert.deepEqual(rows, [{ machine: 'NODE6', header_ok: false, n: '5' }, { machine: 'NODE7', header_ok: true, n: '5' }]);
    const { rows: findings } = await store.query<{ kind: string; file_name: string }>(`SELECT kind, file_name FROM audit_findings`);
    assert.deepEqual(findings, [{ kind: 'bad-header', file_name: 'NODE6_AuditSecurity_Proxy.txt' }]);
    assert.equal((await verifyStore(store)).ok, true);
  } finally {
    await store.query(`DROP SCHEMA ${schema} CASCADE`);
    await store.close();
  }
});
