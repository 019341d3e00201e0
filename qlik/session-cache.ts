import { LRUCache } from 'lru-cache';

// Qlik proxy sessions kept per user in the worker process (SPEC 3.3 "Session cache"), so a burst of
// screenshots for one user costs one QPS ticket, not one each. Only the session cookie is cached,
// never a ticket. Entries live `ttlSeconds` from creation (not from last use), the least recently
// used entry goes first when `maxEntries` is reached, and every dropped entry is handed to `onDrop`
// (which closes the session at QPS).

export interface SessionKeyParts {
  mode: string;
  host: string;
  port: number;
  virtualProxy: string;
  userDirectory: string;
  userId: string;
}

export interface CachedSession {
  cookieName: string;
  /** The proxy session id. Secret: never log it. */
  sessionId: string;
  createdAt: number;
  /** Kept so a dropped session can be closed at the QPS of its virtual proxy. */
  parts: SessionKeyParts;
}

export type DropReason = 'expired' | 'evicted' | 'rejected' | 'shutdown';

export function sessionKey(parts: SessionKeyParts): string {
  return JSON.stringify([parts.mode, parts.host.toLowerCase(), parts.port, parts.virtualProxy, parts.userDirectory, parts.userId]);
}

export interface SessionCacheOptions {
  ttlSeconds: number;
  maxEntries: number;
  onDrop: (session: CachedSession, reason: DropReason) => void;
  now?: () => number;
}

/** lru-cache (TTL from creation, LRU at `max`, expired entries purged on a timer) with our drop reasons. */
export class SessionCache {
  private readonly cache: LRUCache<string, CachedSession>;
  private readonly now: () => number;
  /** Why the next 'delete' disposal happens (reject or clear); evictions and expiry name themselves. */
  private deleting: DropReason = 'rejected';
  /** Set while an entry is replaced by the same session (renewed, nothing to close). */
  private renewing = false;

  constructor(options: SessionCacheOptions) {
    this.now = options.now ?? Date.now;
    this.cache = new LRUCache<string, CachedSession>({
      max: options.maxEntries,
      // lru-cache calls an entry stale when its age is over `ttl`; ours expire when it reaches it (ms).
      ttl: Math.max(1, Math.ceil(options.ttlSeconds * 1000) - 1),
      ttlResolution: 0, // read the clock on every check
      ttlAutopurge: true, // idle sessions are closed at QPS when they expire, not at the next lookup
      updateAgeOnGet: false, // TTL from creation: a session is not kept alive by use
      perf: { now: () => this.now() },
      dispose: (session, _key, reason) => {
        if (reason === 'set' && this.renewing) return;
        options.onDrop(session, reason === 'expire' ? 'expired' : reason === 'delete' ? this.deleting : 'evicted');
      },
    });
  }

  get size(): number {
    this.cache.purgeStale();
    return this.cache.size;
  }

  /** The cached session without touching its age or recency (to tell our sessions from the user's). */
  peek(key: string): CachedSession | undefined {
    return this.cache.peek(key);
  }

  get(key: string): CachedSession | undefined {
    return this.cache.get(key);
  }

  set(key: string, session: Omit<CachedSession, 'createdAt'>): void {
    this.renewing = this.cache.peek(key)?.sessionId === session.sessionId;
    try {
      this.cache.set(key, { ...session, createdAt: this.now() });
    } finally {
      this.renewing = false;
    }
  }

  /** Removes a session the proxy no longer accepts (401/403). */
  reject(key: string, sessionId: string): void {
    if (this.cache.peek(key)?.sessionId !== sessionId) return;
    this.deleting = 'rejected';
    this.cache.delete(key);
  }

  /** Drops expired entries now (the autopurge timers do it too). */
  sweep(): void {
    this.cache.purgeStale();
  }

  /** Closes every session (worker shutdown). */
  clear(): void {
    this.deleting = 'shutdown';
    this.cache.clear();
    this.deleting = 'rejected';
  }
}
