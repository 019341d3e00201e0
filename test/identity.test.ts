// The pure rules of SPEC 3.3: identity forms, virtual proxy derivation, allow-list host matching.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AllowList } from '../screenshots/allow-list';
import { canonicalHostName as canonicalHost } from '../common/host-names';
import { parseQlikIdentity } from '../common/qlik-identity';
import { virtualProxyFromUrl } from '../screenshots/virtual-proxy';

test('identity: the forms Qlik Sense produces', () => {
  const anna = { userDirectory: 'LAB', userId: 'anna' };
  assert.deepEqual(parseQlikIdentity('UserDirectory=LAB; UserId=anna'), anna);
  assert.deepEqual(parseQlikIdentity('userdirectory=LAB;userid=anna'), anna, 'keys are case-insensitive');
  assert.deepEqual(parseQlikIdentity(' UserId = anna ; UserDirectory = LAB ;; '), anna, 'any order, trimmed, empties dropped');
  assert.deepEqual(parseQlikIdentity('LAB; UserId=anna'), anna, 'a bare part is the directory');
  assert.deepEqual(parseQlikIdentity('LAB\\anna'), anna);
  assert.deepEqual(parseQlikIdentity('DOMAIN\\first.last\\x'), { userDirectory: 'DOMAIN', userId: 'first.last\\x' }, 'split at the first backslash');
});

test('identity: forms that cannot get a ticket', () => {
  for (const user of ['anna@lab.example.com', 'ACME/jdoe', 'anna', 'N/A', '', '   ', 'UserId=anna', 'UserDirectory=LAB;', '\\anna', 'LAB\\', ';;']) {
    assert.equal(parseQlikIdentity(user), undefined, `'${user}' is unparseable`);
  }
});

test('virtual proxy: derived from the first path segment', () => {
  assert.deepEqual(virtualProxyFromUrl('https://q.example.com/tempcontent/x/shot.png'), { ok: true, prefix: '' });
  assert.deepEqual(virtualProxyFromUrl('https://q.example.com/sense/app/1/shot.png'), { ok: true, prefix: '' });
  assert.deepEqual(virtualProxyFromUrl('https://q.example.com/API/v1/shot.png'), { ok: true, prefix: '' }, 'reserved words in any case');
  assert.deepEqual(virtualProxyFromUrl('https://q.example.com/shot.png'), { ok: true, prefix: '' });
  assert.deepEqual(virtualProxyFromUrl('https://q.example.com/analytics/tempcontent/shot.png'), { ok: true, prefix: 'analytics' });
  assert.deepEqual(virtualProxyFromUrl('https://q.example.com/qps/vp1/x/shot.png'), { ok: true, prefix: 'vp1' });
  assert.deepEqual(virtualProxyFromUrl('https://q.example.com/qps/ticket/x.png'), { ok: true, prefix: '' }, 'as Butler SOS: /qps/ticket is the default proxy');
  assert.deepEqual(virtualProxyFromUrl('https://q.example.com/bad%20vp/x.png'), { ok: false, value: 'bad%20vp' });
  assert.deepEqual(virtualProxyFromUrl('https://q.example.com/a%2F..%2Fqps/x.png'), { ok: false, value: 'a%2F..%2Fqps' });
});

test('allow-list: hosts compared in canonical form, port ignored', () => {
  const list = new AllowList(['qlik.example.com', '127.0.0.2', '::1', 'bad entry with spaces']);
  assert.equal(list.size, 3, 'an unusable entry is ignored, not matched loosely');
  const allowed = ['https://QLIK.example.com:4443/x', 'https://qlik.example.com./x', 'http://qlik%2Eexample.com/x', 'https://0x7f.0.0.2/x', 'https://2130706434/', 'https://127.2/x', 'https://[0:0:0:0:0:0:0:1]/x'];
  for (const url of allowed) assert.equal(list.check(new URL(url)), undefined, url);
  const blocked: [string, string][] = [
    ['https://evil.example.com/x', 'host-not-allowed'],
    ['https://qlik.example.com.evil.com/x', 'host-not-allowed'],
    ['https://evil.com#@qlik.example.com', 'host-not-allowed'],
    ['https://qlik.example.com@evil.com/', 'invalid-location'],
    ['https://user:pw@qlik.example.com/', 'invalid-location'],
    ['ftp://qlik.example.com/x', 'invalid-scheme'],
    ['file:///etc/passwd', 'invalid-scheme'],
    ['https://127.0.0.9/x', 'host-not-allowed'],
    ['https://[::ffff:127.0.0.2]/x', 'host-not-allowed'],
  ];
  for (const [url, reason] of blocked) assert.equal(list.check(new URL(url)), reason, url);
  assert.equal(new AllowList([]).check(new URL('https://qlik.example.com/')), 'host-not-allowed', 'an empty list blocks everything');
  assert.equal(canonicalHost('127.000.000.001'), '127.0.0.1');
});
