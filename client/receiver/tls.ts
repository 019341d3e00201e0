// The HTTPS listener's certificate (`eventApi.tls`, Butler SOS keys): PEM files read and checked at
// start, so a missing file, a wrong passphrase or a key of another certificate is one line naming the
// key and the file — not an OpenSSL error at the first browser connection.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, type Config } from '../../common/config';

export interface ReceiverTls {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  passphrase?: string;
  /** Subject and expiry of the certificate, for the start-up log line. */
  subject: string;
  validTo: Date;
}

function read(key: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`eventApi.tls.${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

function parseCertificate(key: string, file: string, pem: Buffer): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new ConfigError(`eventApi.tls.${key}: ${file} is not a PEM certificate (expected -----BEGIN CERTIFICATE-----)`);
  }
}

function parseKey(file: string, pem: Buffer, passphrase: string): KeyObject {
  try {
    return createPrivateKey({ key: pem, passphrase: passphrase || undefined });
  } catch (err) {
    const message = (err as Error).message;
    const encrypted = /ENCRYPTED/.test(pem.toString('latin1', 0, 4096));
    if (encrypted && !passphrase) throw new ConfigError(`eventApi.tls.key: ${file} is encrypted: set eventApi.tls.passphrase`);
    if (encrypted || /bad decrypt|passphrase/i.test(message)) throw new ConfigError(`eventApi.tls.passphrase does not decrypt ${file} (eventApi.tls.key): check the passphrase`);
    throw new ConfigError(`eventApi.tls.key: ${file} is not a PEM private key`);
  }
}

/** Undefined when TLS is off; otherwise the checked files. Throws ConfigError naming the key. */
export function loadReceiverTls(config: Config): ReceiverTls | undefined {
  const tls = config.eventApi.tls;
  if (!tls.enable) return undefined;
  const cert = read('cert', tls.cert);
  const key = read('key', tls.key);
  const ca = tls.ca ? read('ca', tls.ca) : undefined;
  const x509 = parseCertificate('cert', tls.cert, cert);
  if (ca) parseCertificate('ca', tls.ca, ca);
  const privateKey = parseKey(tls.key, key, tls.passphrase);
  if (!x509.checkPrivateKey(privateKey)) {
    throw new ConfigError(`eventApi.tls.key ${tls.key} does not belong to the certificate eventApi.tls.cert ${tls.cert}: use the key the certificate was issued for`);
  }
  return { cert, key, ca, passphrase: tls.passphrase || undefined, subject: x509.subject.replace(/\n/g, ', '), validTo: new Date(x509.validTo) };
}
