// Failure types of the activities (the ApplicationFailure `type` shown in the Temporal UI).
// Kept free of imports so workflow code can list the non-retryable ones in its retry policy.

/** Retrying cannot help: wrong config or certificate, a refusal, or a bad answer. */
export const NonRetryable = {
  ConfigInvalid: 'ConfigInvalid', // a file named in qlik.cert is missing or unreadable, a setting is unusable
  QpsTicketRejected: 'QpsTicketRejected', // QPS answered 4xx: wrong certificate, unknown user, bad virtual proxy
  QpsAnswerInvalid: 'QpsAnswerInvalid', // QPS answered 2xx without a ticket
  TlsFailure: 'TlsFailure', // the server certificate is not trusted / does not match (qlik.cert.clientCertCA)
  DownloadRejected: 'DownloadRejected', // a non-retryable HTTP status from the image host
  AccessDenied: 'AccessDenied', // the proxy refused even a freshly redeemed ticket
  NotAnImage: 'NotAnImage', // a 2xx whose content-type is not image/*
  ImageTooLarge: 'ImageTooLarge', // over the 50 MiB cap
  StoreTampered: 'StoreTampered', // the digest chain no longer holds its last anchor: nothing is appended until an operator re-anchors
} as const;

/** Retried with backoff: the network, a timeout, 5xx/429 and the other transient statuses. */
export const Retryable = {
  QpsUnavailable: 'QpsUnavailable',
  DownloadUnavailable: 'DownloadUnavailable',
  StoreUnavailable: 'StoreUnavailable', // the audit store: connection refused or lost, server restarting, too many connections, the embedded server not starting
  LockLost: 'LockLost', // the connection holding a chain's lock dropped mid-ingest
  SourceUnavailable: 'SourceUnavailable', // a log folder cannot be read (a share not mounted, permissions)
  SinkUnavailable: 'SinkUnavailable', // an alert sink (webhook, syslog, SMTP) is down or refused the alert: retried for hours
} as const;

export const NON_RETRYABLE_TYPES: string[] = Object.values(NonRetryable);
