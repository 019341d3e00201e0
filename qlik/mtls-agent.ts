// The HTTPS client identity for Qlik (SPEC 3.1 `qlik.cert`, the same files Butler SOS uses): an undici
// Agent presenting the client certificate and trusting the Qlik root CA. One Agent per worker process,
// so connections to QPS and the proxy are pooled and reused across activities.
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { Agent } from 'undici';
import type { QlikConfig } from '../common/config';
import { permanent } from '../common/failures';

function readCertFile(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw permanent('ConfigInvalid', `cannot read ${key} ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** Agent with the client certificate (ticket modes: QPS demands it, and every download hop uses it). */
export function createMutualTlsAgent(qlik: QlikConfig): Agent {
  const { cert } = qlik;
  return new Agent({
    connect: {
      cert: readCertFile(cert.clientCert, 'qlik.cert.clientCert'),
      key: readCertFile(cert.clientCertKey, 'qlik.cert.clientCertKey'),
      ca: readCertFile(cert.clientCertCA, 'qlik.cert.clientCertCA'),
      passphrase: cert.clientCertPassphrase || undefined,
      rejectUnauthorized: qlik.rejectUnauthorized,
    },
    keepAliveTimeout: 30_000,
  });
}

/** Agent without a client certificate (auth mode `none`); trusts public CAs plus the Qlik root CA if present. */
export function createPlainAgent(qlik: QlikConfig): Agent {
  let qlikCa: string | undefined;
  try {
    qlikCa = readFileSync(qlik.cert.clientCertCA, 'utf8');
  } catch {
    qlikCa = undefined; // no Qlik CA file: public CAs only
  }
  return new Agent({
    connect: { ...(qlikCa ? { ca: [...rootCertificates, qlikCa] } : {}), rejectUnauthorized: qlik.rejectUnauthorized },
    keepAliveTimeout: 30_000,
  });
}
