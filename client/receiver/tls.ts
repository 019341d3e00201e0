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

type TlsSettings = Config['eventApi']['tls'];

function read(prefix: string, key: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`${prefix}.${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

function parseCertificate(prefix: string, key: string, file: string, pem: Buffer): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new ConfigError(`${prefix}.${key}: ${file} is not a PEM certificate (expected -----BEGIN CERTIFICATE-----)`);
  }
}

function parseKey(prefix: string, file: string, pem: Buffer, passphrase: string): KeyObject {
  try {
    return createPrivateKey({ key: pem, passphrase: passphrase || undefined });
  } catch (err) {
    const message = (err as Error).message;
    const encrypted = /ENCRYPTED/.test(pem.toString('latin1', 0, 4096));
    if (encrypted && !passphrase) throw new ConfigError(`${prefix}.key: ${file} is encrypted: set ${prefix}.passphrase`);
    if (encrypted || /bad decrypt|passphrase/i.test(message)) throw new ConfigError(`${prefix}.passphrase does not decrypt ${file} (${prefix}.key): check the passphrase`);
    throw new ConfigError(`${prefix}.key: ${file} is not a PEM private key`);
  }
}

/** Undefined when TLS is off; otherwise the checked files. Throws ConfigError naming the key. */
export function loadReceiverTls(config: Config): ReceiverTls | undefined {
  return loadListenerTls(config.eventApi.tls, 'eventApi.tls');
}

/** An HTTPS listener's files (`eventApi.tls`, `auditUi.tls`), checked; `prefix` names the keys in messages. */
export function loadListenerTls(tls: TlsSettings, prefix: string): ReceiverTls | undefined {
  if (!tls.enable) return undefined;
  const cert = read(prefix, 'cert', tls.cert);
  const key = read(prefix, 'key', tls.key);
  const ca = tls.ca ? read(prefix, 'ca', tls.ca) : undefined;
  const x509 = parseCertificate(prefix, 'cert', tls.cert, cert);
  if (ca) parseCertificate(prefix, 'ca', tls.ca, ca);
  const privateKey = parseKey(prefix, tls.key, key, tls.passphrase);
  if (!x509.checkPrivateKey(privateKey)) {
    throw new ConfigError(`${prefix}.key ${tls.key} does not belong to the certificate ${prefix}.cert ${tls.cert}: use the key the certificate was issued for`);
  }
  return { cert, key, ca, passphrase: tls.passphrase || undefined, subject: x509.subject.replace(/\n/g, ', '), validTo: new Date(x509.validTo) };
}
