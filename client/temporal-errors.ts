// Why Temporal refused a call, by gRPC status: worth retrying later (the server is down, slow or
// overloaded) or a misconfiguration that retrying never fixes (unknown namespace, missing search
// attribute, no permission). The receiver answers 503 only for the first kind: Audit.qs retries a
// 503, and would retry a misconfiguration forever.
import { isGrpcServiceError } from '@temporalio/client';
import { NamespaceNotFoundError } from '@temporalio/common';

/** gRPC status codes (stable across gRPC implementations). */
const grpcStatus = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14,
  DATA_LOSS: 15, UNAUTHENTICATED: 16,
} as const;
const statusName = new Map<number, string>(Object.entries(grpcStatus).map(([name, code]) => [code, name]));

const TRANSIENT = new Set<number>([grpcStatus.UNAVAILABLE, grpcStatus.DEADLINE_EXCEEDED, grpcStatus.RESOURCE_EXHAUSTED, grpcStatus.ABORTED]);

export interface TemporalTargetNames {
  address: string;
  namespace: string;
}

export interface ClassifiedTemporalError {
  transient: boolean;
  /** gRPC status name (UNAVAILABLE, INVALID_ARGUMENT, …) or `unknown`. */
  code: string;
  /** One line naming the cause and, where there is one, the fix. */
  message: string;
}

/** The gRPC status code of an error or of the first cause that has one. */
export function grpcCode(err: unknown): number | undefined {
  let current: unknown = err;
  for (let depth = 0; current && depth < 6; depth++) {
    if (isGrpcServiceError(current)) return current.code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function firstLine(err: unknown): string {
  let current: unknown = err;
  let text = String(err);
  for (let depth = 0; current && depth < 6; depth++) {
    if (isGrpcServiceError(current)) return (current.details || current.message).split('\n')[0] ?? text;
    if (current instanceof Error) text = current.message.split('\n')[0] ?? text;
    current = (current as { cause?: unknown }).cause;
  }
  return text;
}

export function classifyTemporalError(err: unknown, target: TemporalTargetNames): ClassifiedTemporalError {
  // The client turns NOT_FOUND for a namespace into its own error, without the gRPC status.
  const code = err instanceof NamespaceNotFoundError || (err as Error | undefined)?.cause instanceof NamespaceNotFoundError ? grpcStatus.NOT_FOUND : grpcCode(err);
  const name = code === undefined ? 'unknown' : (statusName.get(code) ?? String(code));
  const detail = firstLine(err);
  const where = `Temporal at ${target.address}, namespace ${target.namespace}`;
  if (code === undefined || TRANSIENT.has(code)) {
    return { transient: true, code: name, message: `${where} is unreachable or overloaded (${detail}); retry later` };
  }
  switch (code) {
    case grpcStatus.INVALID_ARGUMENT:
      if (/search attribute/i.test(detail)) {
        return { transient: false, code: name, message: `${where}: ${detail}: run 'qlik-audit setup --config <file>' to register the search attributes` };
      }
      return { transient: false, code: name, message: `${where} refused the request: ${detail}` };
    case grpcStatus.NOT_FOUND:
      return { transient: false, code: name, message: `${where}: ${detail}: create the namespace or fix temporal.namespace / TEMPORAL_NAMESPACE` };
    case grpcStatus.PERMISSION_DENIED:
      return { transient: false, code: name, message: `${where}: permission denied (${detail}): give this API key or client certificate the right to start workflows in the namespace` };
    case grpcStatus.UNAUTHENTICATED:
      return { transient: false, code: name, message: `${where}: not authenticated (${detail}): check TEMPORAL_API_KEY or the TLS client certificate (TEMPORAL_TLS_*)` };
    default:
      return { transient: false, code: name, message: `${where} refused the request with ${name}: ${detail}` };
  }
}
