// The per-worker Qlik session cache: TTL from creation (fractions allowed), LRU at maxEntries, and
// every dropped session reported so it can be closed at QPS.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SessionCache, sessionKey, type DropReason } from '../qlik/session-cache';

function cache(ttlSeconds: number, maxEntries: number) {
  let now = 1_000_000;
  const dropped: [string, DropReason][] = [];
  const c = new SessionCache({ ttlSeconds, maxEntries, now: () => now, onDrop: (s, reason) => dropped.push([s.sessionId, reason]) });
  const parts = (userId: string) => ({ mode: 'userTicket', host: 'Q.example.com', port: 443, virtualProxy: '', userDirectory: 'LAB', userId });
  const put = (userId: string, sessionId: string) => c.set(sessionKey(parts(userId)), { cookieName: 'X-Qlik-Session', sessionId, parts: parts(userId) });
  const get = (userId: string) => c.get(sessionKey(parts(userId)))?.sessionId;
  return { c, dropped, put, get, advance: (ms: number) => (now += ms) };
}

test('entries expire ttlSeconds after creation, not after last use; fractions work', () => {
  const t = cache(1.5, 10);
  t.put('anna', 's1');
  t.advance(1000);
  assert.equal(t.get('anna'), 's1');
  t.advance(499);
  assert.equal(t.get('anna'), 's1', 'still valid 1.499 s after creation');
  t.advance(1);
  assert.equal(t.get('anna'), undefined, 'expired at 1.5 s although used recently');
  assert.deepEqual(t.dropped, [['s1', 'expired']]);
});

test('the least recently used entry is evicted at maxEntries', () => {
  const t = cache(60, 2);
  t.put('anna', 's1');
  t.put('bob', 's2');
  assert.equal(t.get('anna'), 's1'); // anna is now the most recently used
  t.put('carl', 's3');
  assert.deepEqual(t.dropped, [['s2', 'evicted']]);
  assert.equal(t.get('bob'), undefined);
  assert.equal(t.get('anna'), 's1');
  assert.equal(t.c.size, 2);
});

test('sweep closes expired sessions without a lookup; reject and clear report their reason', () => {
  const t = cache(1, 10);
  t.put('anna', 's1');
  t.put('bob', 's2');
  t.c.reject(sessionKey({ mode: 'userTicket', host: 'q.example.com', port: 443, virtualProxy: '', userDirectory: 'LAB', userId: 'bob' }), 's2');
  t.advance(1000);
  t.c.sweep();
  t.put('carl', 's3');
  t.c.clear();
  assert.deepEqual(t.dropped, [['s2', 'rejected'], ['s1', 'expired'], ['s3', 'shutdown']]);
});

test('the key is case-insensitive in the host only', () => {
  const base = { mode: 'userTicket', host: 'Q.Example.com', port: 443, virtualProxy: 'vp', userDirectory: 'LAB', userId: 'anna' };
  assert.equal(sessionKey(base), sessionKey({ ...base, host: 'q.example.com' }));
  assert.notEqual(sessionKey(base), sessionKey({ ...base, userId: 'Anna' }));
  assert.notEqual(sessionKey(base), sessionKey({ ...base, virtualProxy: '' }));
  assert.notEqual(sessionKey(base), sessionKey({ ...base, port: 4443 }));
  assert.notEqual(sessionKey(base), sessionKey({ ...base, mode: 'qpsTicket' }));
});
