// The Audit.qs version handshake, as Butler SOS does it (SPEC 4): the version is the first value of
// the X-Audit-QS-Version header (a repeated or comma-joined header counts by its first), else the
// event's `source.version`. Outside eventApi.compatibleAuditQsVersions (default Butler SOS 15's
// `>=0.3.0 <0.5.0`) — or not a plain semantic version — an event is refused (422); with no version at
// all it is accepted, and that is warned about at most once a minute per client IP.
import { LRUCache } from 'lru-cache';
import semver from 'semver';
export { DEFAULT_AUDIT_QS_RANGE } from '../../common/config';

/** At most this many distinct versions get their own metrics label; the rest count as `other`. */
const MAX_LABELS = 20;
const MISSING_WARN_WINDOW_MS = 60_000;

/** The version Audit.qs says it is, or null when it says none. */
export function auditQsVersionOf(header: string | string[] | undefined, sourceVersion?: unknown): string | null {
  const first = (Array.isArray(header) ? header[0] : header)?.split(',')[0]?.trim();
  if (first) return first;
  return typeof sourceVersion === 'string' && sourceVersion.trim() !== '' ? sourceVersion.trim() : null;
}

export interface VersionVerdict {
  compatible: boolean;
  /** Why, in one line (for logs and the 422's details). */
  message: string;
}

/** A version against the range: pre-releases and anything that is not x.y.z are not compatible. */
export function checkAuditQsVersion(version: string, range: string, us: string): VersionVerdict {
  if (!semver.valid(version)) return { compatible: false, message: `Invalid Audit.qs version format: "${version.slice(0, 40)}".` };
  return semver.satisfies(version, range)
    ? { compatible: true, message: `${us} is compatible with Audit.qs ${version}.` }
    : { compatible: false, message: `${us} is not compatible with Audit.qs ${version}. Compatible Audit.qs versions: ${range}.` };
}

export interface MissingVersionWarnings {
  /** Called for each event without a version; warns at most once per window per client IP, with the count since. */
  note(ip: string): void;
}

/** Per client IP, bounded, forgotten after 15 min without such an event. */
export function missingVersionWarnings(warn: (ip: string, count: number, windowSeconds: number) => void, now: () => number = Date.now): MissingVersionWarnings {
  const state = new LRUCache<string, { lastWarned: number; count: number }>({ max: 10_000, ttl: 15 * 60_000, ttlAutopurge: false });
  return {
    note(ip) {
      const entry = state.get(ip) ?? { lastWarned: -Infinity, count: 0 };
      entry.count++;
      if (now() - entry.lastWarned >= MISSING_WARN_WINDOW_MS) {
        warn(ip, entry.count, MISSING_WARN_WINDOW_MS / 1000);
        entry.lastWarned = now();
        entry.count = 0;
      }
      state.set(ip, entry);
    },
  };
}

/** Metrics labels for versions: the first MAX_LABELS distinct ones, then `other` (clients choose the values). */
export function versionLabels(): (version: string | null) => string {
  const labels = new Set<string>();
  return (version) => {
    if (version === null) return 'unknown';
    if (!semver.valid(version)) return 'invalid';
    if (labels.has(version)) return version;
    if (labels.size < MAX_LABELS) return labels.add(version), version;
    return 'other';
  };
}
