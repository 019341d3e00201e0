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
  return err.message.split('\n')[0] ?? err.name;
}
