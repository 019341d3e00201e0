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

export class SessionCache {
  private readonly entries = new Map<string, CachedSession>(); // Map order = LRU order, oldest first
  private readonly ttlMs: number;
  private readonly now: () => number;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly options: SessionCacheOptions) {
    this.ttlMs = options.ttlSeconds * 1000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): CachedSession | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.now() - entry.createdAt >= this.ttlMs) {
      this.drop(key, entry, 'expired');
      return undefined;
    }
    this.entries.delete(key); // most recently used goes to the end
    this.entries.set(key, entry);
    return entry;
  }

  set(key: string, session: Omit<CachedSession, 'createdAt'>): void {
    const old = this.entries.get(key);
    if (old && old.sessionId !== session.sessionId) this.drop(key, old, 'evicted');
    this.entries.delete(key);
    this.entries.set(key, { ...session, createdAt: this.now() });
    while (this.entries.size > this.options.maxEntries) {
      const [oldestKey, oldest] = this.entries.entries().next().value as [string, CachedSession];
      this.drop(oldestKey, oldest, 'evicted');
    }
    this.startSweeper();
  }

  /** Removes a session the proxy no longer accepts (401/403). */
  reject(key: string, sessionId: string): void {
    const entry = this.entries.get(key);
    if (entry && entry.sessionId === sessionId) this.drop(key, entry, 'rejected');
  }

  /** Drops expired entries; runs on a timer so idle sessions are closed at QPS without waiting for a lookup. */
  sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      if (now - entry.createdAt >= this.ttlMs) this.drop(key, entry, 'expired');
    }
    if (this.entries.size === 0) this.stopSweeper();
  }

  /** Closes every session (worker shutdown). */
  clear(): void {
    for (const [key, entry] of this.entries) this.drop(key, entry, 'shutdown');
    this.stopSweeper();
  }

  private drop(key: string, entry: CachedSession, reason: DropReason): void {
    this.entries.delete(key);
    this.options.onDrop(entry, reason);
  }

  private startSweeper(): void {
    if (this.sweeper) return;
    const every = Math.min(Math.max(this.ttlMs / 4, 250), 30_000);
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
  }

  private stopSweeper(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}
