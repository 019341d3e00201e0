// How a command fails: one line naming the cause, and an exit code scripts can rely on (SPEC 2).
import { ConfigError } from '../common/config';

/** Bad input from the user (arguments, config, event file): exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export function exitCodeFor(err: unknown): number {
  return err instanceof UsageError || err instanceof ConfigError ? EXIT_USAGE : EXIT_FAILED;
}

/** The one-line message for an error; with --verbose the stack too. */
export function describeError(err: unknown, verbose: boolean): string {
  if (!(err instanceof Error)) return String(err);
  if (verbose && err.stack) return err.stack;
  // Temporal wraps the failure that names the cause: workflow failed ← activity failed ← the error.
  let root: Error = err;
  while (root.cause instanceof Error) root = root.cause;
  const line = (e: Error) => e.message.split('\n')[0] ?? e.name;
  return root === err ? line(err) : `${line(err)}: ${line(root)}`;
}
