// Paths read back from the audit store are data a database user can rewrite: retention and evidence
// bundles touch only files inside the configured storage targets (SPEC 6, issue 24), however a path
// tries to leave them.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { insideStorageTargets, screenshotFiles } from '../common/stored-files';

test('a stored path is used only inside a storage target: .., another folder, a relative path and a link out are refused', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'qa-targets-'));
  const target = path.join(root, 'screenshots');
  const elsewhere = path.join(root, 'certs');
  mkdirSync(target);
  mkdirSync(elsewhere);
  writeFileSync(path.join(elsewhere, 'client_key.pem'), 'key');
  writeFileSync(path.join(target, 'a.png'), 'png');
  symlinkSync(path.join(elsewhere, 'client_key.pem'), path.join(target, 'link.png'));
  const targets = [target];
  assert.equal(insideStorageTargets(path.join(target, 'a.png'), targets), true);
  assert.equal(insideStorageTargets(path.join(target, 'not-yet-written.png'), targets), true, 'a file that is gone is judged by its path');
  for (const outside of [
    path.join(elsewhere, 'client_key.pem'),
    `${target}/../certs/client_key.pem`,
    `${target}-evil/a.png`, // a sibling whose name starts like the target
    target, // the folder itself
    'a.png', // relative
    path.join(target, 'link.png'), // a link out of the folder
    '/etc/passwd',
  ]) {
    assert.equal(insideStorageTargets(outside, targets), false, outside);
  }
});

test('every file of a stored screenshot: the image, its sidecar and its _metadata.png', () => {
  assert.deepEqual(screenshotFiles('/srv/shots/20190201T100728.000Z_e_c.png'), ['/srv/shots/20190201T100728.000Z_e_c.png', '/srv/shots/20190201T100728.000Z_e_c.png.json', '/srv/shots/20190201T100728.000Z_e_c_metadata.png']);
  assert.deepEqual(screenshotFiles('/srv/shots/x.jpg'), ['/srv/shots/x.jpg', '/srv/shots/x.jpg.json', '/srv/shots/x_metadata.png']);
});
