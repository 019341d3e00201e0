// Turning zod errors into the one-line messages users see: each failing field by its key path
// (config files and event files alike).
import type { z } from 'zod';

/** `screenshots.storageTargets[0].type`; `(top level)` for the root. */
export function keyPath(parts: readonly PropertyKey[]): string {
  return parts.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[') || '(top level)';
}

/** `path: problem; path: problem` — unknown keys named one by one; at most `max` problems. */
export function describeIssues(error: z.ZodError, max = 5): string {
  const lines = error.issues.slice(0, max).map((issue) => {
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => `${keyPath([...issue.path, key])}: unknown key`).join('; ');
    return `${keyPath(issue.path)}: ${issue.message}`;
  });
  if (error.issues.length > max) lines.push(`and ${error.issues.length - max} more`);
  return lines.join('; ');
}

/** The failing field paths, e.g. ["payload.context.appId"] (the receiver returns them with 422). */
export function issuePaths(error: z.ZodError): string[] {
  return [...new Set(error.issues.map((issue) => issue.path.join('.')))];
}
