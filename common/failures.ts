// Stable failure types (the `type` of ApplicationFailure) that operators see in the Temporal UI and
// that the workflow's retry policy lists as non-retryable. Every message names the cause: the host,
// the config key or the file — and never a ticket or session id.
import { ApplicationFailure } from '@temporalio/common';
import { NonRetryable, Retryable } from './failure-types';

export function permanent(type: keyof typeof NonRetryable, message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, NonRetryable[type]);
}

export function transient(type: keyof typeof Retryable, message: string): ApplicationFailure {
  return ApplicationFailure.retryable(message, Retryable[type]);
}

const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|UNABLE_TO_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|HOSTNAME_MISMATCH)/;

/** The innermost error code of a network error (undici wraps system errors in `cause`). */
export function errorCode(err: unknown): string | undefined {
  let current: unknown = err;
  let code: string | undefined;
  for (let depth = 0; current && depth < 5; depth++) {
    const c = (current as { code?: unknown }).code;
    if (typeof c === 'string') code = c;
    current = (current as { cause?: unknown }).cause;
  }
  return code;
}

/** True for errors about the server's certificate, which retrying will not fix. */
export function isTlsTrustError(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && TLS_CODES.test(code);
}

/** A short, secret-free description of a network error: its code, or its first line. */
export function describeNetworkError(err: unknown): string {
  const code = errorCode(err);
  if (code) return code;
  if (err instanceof Error) return err.name === 'TimeoutError' || err.name === 'AbortError' ? 'timeout' : err.message.split('\n')[0] ?? err.name;
  return String(err);
}
