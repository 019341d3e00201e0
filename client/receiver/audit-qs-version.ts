// Which Audit.qs versions post to us (header X-Audit-QS-Version, else `source.version`): logged with
// each event, counted in metrics, and warned about (once a minute per version) when outside the range
// this receiver was tested with. Never a reason to refuse an event.

/** Audit.qs versions this receiver was tested with: Butler SOS 15's compatibility range (>=0.3.0 <0.5.0). */
export const TESTED_AUDIT_QS_RANGE = { from: [0, 3, 0], below: [0, 5, 0], text: '>=0.3.0 <0.5.0' } as const;
const VERSION = /^v?(\d{1,4})\.(\d{1,4})(?:\.(\d{1,6}))?(?:[-+][0-9A-Za-z.-]{1,32})?$/;
/** At most this many distinct versions get their own metrics label; the rest count as `other`. */
const MAX_LABELS = 20;
const WARN_EVERY_MS = 60_000;

export interface AuditQsVersionTracker {
  /** The version to log and count: `unknown`, a well-formed version, or `invalid`. */
  observe(header: string | string[] | undefined, sourceVersion: unknown): string;
  /** Label for the metric: the version, or `other` beyond the first MAX_LABELS distinct ones. */
  label(version: string): string;
}

/** -1, 0, 1 as a < b, a = b, a > b. */
function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) < (b[i] ?? 0) ? -1 : 1;
  return 0;
}

function inTestedRange(version: number[]): boolean {
  return compare(version, TESTED_AUDIT_QS_RANGE.from) >= 0 && compare(version, TESTED_AUDIT_QS_RANGE.below) < 0;
}

export function createVersionTracker(warn: (version: string) => void, now: () => number = Date.now): AuditQsVersionTracker {
  const labels = new Set<string>();
  const lastWarned = new Map<string, number>();
  return {
    observe(header, sourceVersion) {
      const raw = (Array.isArray(header) ? header[0] : header) ?? (typeof sourceVersion === 'string' ? sourceVersion : undefined);
      if (raw === undefined || raw.trim() === '') return 'unknown';
      const match = VERSION.exec(raw.trim());
      if (!match) return 'invalid';
      const version = raw.trim();
      if (!inTestedRange([Number(match[1]), Number(match[2]), Number(match[3] ?? 0)])) {
        const last = lastWarned.get(version);
        if (last === undefined || now() - last >= WARN_EVERY_MS) {
          if (lastWarned.size > 1000) lastWarned.clear(); // bounded, whatever clients send
          lastWarned.set(version, now());
          warn(version);
        }
      }
      return version;
    },
    label(version) {
      if (labels.has(version)) return version;
      if (labels.size < MAX_LABELS) return labels.add(version), version;
      return 'other';
    },
  };
}
