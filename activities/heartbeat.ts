// Heartbeats on a timer for as long as an activity runs, whatever it is waiting for (QPS, response
// headers, another event's ticket, the store, a lock): the heartbeat timeout then only fires when the
// worker is really gone, never because one step was slow. Details are the latest progress reported.
import type { Context } from '@temporalio/activity';

export interface HeartbeatTimer {
  /** Records progress (sent now and with every later beat). */
  progress(details: unknown): void;
  stop(): void;
}

export function startHeartbeat(ctx: Context, heartbeatTimeoutMs: number, initial?: unknown): HeartbeatTimer {
  let details = initial;
  ctx.heartbeat(details);
  const timer = setInterval(() => ctx.heartbeat(details), Math.max(1000, Math.floor(heartbeatTimeoutMs / 4)));
  return {
    progress(next) {
      details = next;
      ctx.heartbeat(details);
    },
    stop: () => clearInterval(timer),
  };
}

/** Runs `fn` with a heartbeat timer around it. */
export async function withHeartbeat<T>(ctx: Context, heartbeatTimeoutMs: number, fn: (beat: HeartbeatTimer) => Promise<T>, initial?: unknown): Promise<T> {
  const beat = startHeartbeat(ctx, heartbeatTimeoutMs, initial);
  try {
    return await fn(beat);
  } finally {
    beat.stop();
  }
}
