// Group commit for the receiver: each request waits for the INSERT that carries its event, and all
// requests that arrive while one INSERT is in flight share the next one. One commit (one WAL flush)
// then acknowledges hundreds of events, so durability costs little more per event than a bare
// batched INSERT, and a request never waits behind more than one commit it is not part of.
import { storeEvents, type EventRow } from './audit-events';
import type { DigestKey } from './digest';
import type { AuditStore } from './store';

export interface EventWriterOptions {
  /** Events per INSERT at most. */
  maxBatch?: number;
  /**
   * A write not committed within this many ms is rejected (the caller answers 503; the INSERT may
   * still commit, and a repost of the event is then a no-op). One sweep timer for all, not one per event.
   */
  deadlineMs?: number;
  /** INSERTs in flight at once (a few of the pool's connections). */
  inFlight?: number;
  /** The digest chain's key (each commit appends a chain entry for its events). */
  digestKey?: DigestKey;
}

interface Pending {
  row: EventRow;
  since: number;
  settled?: boolean;
  resolve: (stored: boolean) => void;
  reject: (err: unknown) => void;
}

export interface EventWriter {
  /** Resolves once the event is committed: true when it is new, false when it was stored before. */
  write(row: EventRow): Promise<boolean>;
  /** Events waiting for a commit now (for metrics). */
  readonly pending: number;
  /** Waits for what is queued, then refuses new writes. */
  close(): Promise<void>;
}

export function createEventWriter(store: Pick<AuditStore, 'transaction'>, options: EventWriterOptions = {}): EventWriter {
  const maxBatch = options.maxBatch ?? 1000;
  const inFlight = options.inFlight ?? 2;
  const deadlineMs = options.deadlineMs ?? 5000;
  let queue: Pending[] = [];
  const waiting = new Set<Pending>(); // queued or in an INSERT in flight
  let sweeper: NodeJS.Timeout | undefined;

  const settle = (p: Pending, outcome: { stored: boolean } | { err: unknown }) => {
    if (p.settled) return;
    p.settled = true;
    waiting.delete(p);
    if ('err' in outcome) p.reject(outcome.err);
    else p.resolve(outcome.stored);
    if (waiting.size === 0 && sweeper) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };

  function sweep() {
    const now = Date.now();
    for (const p of waiting) {
      if (now - p.since > deadlineMs) settle(p, { err: new Error(`no commit within ${deadlineMs / 1000} s`) });
    }
  }
  let running = 0;
  let flushing = 0; // events in the INSERTs in flight
  let closed = false;
  let idle: (() => void) | undefined;

  async function flush(batch: Pending[]) {
    try {
      const inserted = await storeEvents(store, batch.map((p) => p.row), { key: options.digestKey });
      for (const p of batch) settle(p, { stored: inserted.has(p.row.event_id) });
    } catch (err) {
      for (const p of batch) settle(p, { err });
    }
  }

  function pump() {
    while (running < inFlight && queue.length > 0) {
      const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
      queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
      running++;
      flushing += batch.length;
      void flush(batch).finally(() => {
        running--;
        flushing -= batch.length;
        pump();
      });
    }
    if (running === 0 && queue.length === 0) idle?.();
  }

  return {
    write(row) {
      if (closed) return Promise.reject(new Error('the audit event writer is closed'));
      return new Promise<boolean>((resolve, reject) => {
        const pending: Pending = { row, since: Date.now(), resolve, reject };
        queue.push(pending);
        waiting.add(pending);
        sweeper ??= setInterval(sweep, Math.min(500, deadlineMs)).unref();
        pump();
      });
    },
    get pending() {
      return queue.length + flushing;
    },
    async close() {
      closed = true;
      if (running === 0 && queue.length === 0) return;
      await new Promise<void>((resolve) => (idle = resolve));
    },
  };
}
