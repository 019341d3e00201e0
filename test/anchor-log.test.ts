// The anchor log on its own (store/anchor-log.ts): its entries chain and, under a key, carry MACs; a
// retired key or a damaged line blocks ingestion until an operator's re-anchoring records it, and
// only what that re-anchoring recorded is forgiven — anything after it is reported again.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { appendAnchor, currentAnchors, readAnchorLog, readLastAnchor } from '../store/anchor-log';
import { digestKey, type DigestKey } from '../store/digest';

const OLD = digestKey('the key of last year') as DigestKey;
const NEW = digestKey('the key of this year') as DigestKey;
const head = (n: number) => n.toString(16).padStart(64, '0');
const anchor = (batches: number) => ({ type: 'anchor' as const, storeId: 'store-1', chainHead: head(batches), batches, rows: batches * 10, by: 'ingest run' });

test('a retired key blocks until a re-anchoring records it; what was recorded is forgiven, nothing else', async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'qa-anchor-log-')), 'anchors', 'store.anchors');
  await appendAnchor(file, anchor(1), OLD);
  await appendAnchor(file, anchor(2), OLD);
  const clean = await readAnchorLog(file, OLD);
  assert.deepEqual([clean.entries.map((e) => e.n), clean.problems], [[1, 2], []]);
  assert.equal(clean.entries[1]?.log, clean.entries[0]?.log, 'one log id for the whole file');

  // The site rotates the digest key: the old entries no longer verify, and ingestion would refuse.
  const rotated = await readAnchorLog(file, NEW);
  assert.deepEqual(rotated.problems.map((p) => p.line), [1, 2]);
  assert.match(rotated.problems[0]?.detail ?? '', /line 1: written under key id [0-9a-f]{16}, the key given has id [0-9a-f]{16}/);
  assert.match((await readLastAnchor(file, NEW)).problem ?? '', /the last anchor was written under key id/);

  // The operator re-anchors under the new key, recording what was found.
  await appendAnchor(file, { ...anchor(2), type: 'reanchor', by: 'admin@host', reason: 'digest key rotated', found: rotated.problems.map((p) => p.detail) }, NEW);
  const after = await readAnchorLog(file, NEW);
  assert.deepEqual(after.problems, [], 'what the re-anchoring recorded is not reported again');
  assert.deepEqual(currentAnchors(after.entries).map((e) => [e.n, e.type]), [[3, 'reanchor']]);
  await appendAnchor(file, anchor(3), NEW);
  assert.deepEqual((await readAnchorLog(file, NEW)).problems, []);

  // Anything else is: an entry before the re-anchoring edited afterwards, a line cut short.
  const lines = readFileSync(file, 'utf8').split('\n');
  writeFileSync(file, lines.map((l, i) => (i === 0 ? l.replace('"rows":10', '"rows":11') : l)).join('\n'));
  const edited = await readAnchorLog(file, NEW);
  assert.match(edited.problems.map((p) => p.detail).join('\n'), /line 2: does not name the line before it/);
  writeFileSync(file, lines.join('\n'));
  appendFileSync(file, '{"entry":{"n":5');
  assert.match((await readAnchorLog(file, NEW)).problems.map((p) => p.detail).join('\n'), /line 5: the last line is cut short/);
});

test('an entry no reader would accept is never written', async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'qa-anchor-log-')), 'store.anchors');
  await assert.rejects(appendAnchor(file, { ...anchor(1), chainHead: 'not a digest' }, undefined));
  await appendAnchor(file, { ...anchor(1), by: 'x'.repeat(5000) }, undefined);
  assert.equal((await readAnchorLog(file, undefined)).entries[0]?.by.length, 300, 'a long run id is cut, not refused');
});
