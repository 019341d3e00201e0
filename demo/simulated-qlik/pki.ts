// A throw-away PKI made at test time (and for the demo): a root CA, a server certificate for every
// loopback host the simulated Qlik listens on, and a client certificate — written with the file
// names Qlik Sense exports and Butler SOS expects (root.pem, client.pem, client_key.pem).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';

export interface Pki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** Paths for the `qlik.cert` config section. */
  files: { clientCert: string; clientCertKey: string; clientCertCA: string };
}

function rsaKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const key = forge.pki.privateKeyFromPem(privateKey);
  return { pem: privateKey, key, publicKey: forge.pki.setRsaPublicKey(key.n, key.e) };
}

function certificate(options: {
  commonName: string;
  publicKey: forge.pki.PublicKey;
  issuer?: { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey };
  signingKey: forge.pki.rsa.PrivateKey;
  extensions: object[];
}): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = options.publicKey;
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 24 * 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 365 * 24 * 3600_000);
  cert.setSubject([{ name: 'commonName', value: options.commonName }]);
  cert.setIssuer(options.issuer ? options.issuer.cert.subject.attributes : [{ name: 'commonName', value: options.commonName }]);
  cert.setExtensions(options.extensions);
  cert.sign(options.signingKey, forge.md.sha256.create());
  return cert;
}

/** Creates the CA and certificates. `hosts` are the IPs/names the server certificate is valid for. */
export function createPki(dir: string, hosts: string[] = ['localhost', ...Array.from({ length: 10 }, (_, i) => `127.0.0.${i + 1}`)]): Pki {
  mkdirSync(dir, { recursive: true });
  const caKey = rsaKey();
  const ca = certificate({
    commonName: 'qlik-audit simulated Qlik root CA',
    publicKey: caKey.publicKey,
    signingKey: caKey.key,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  // A leaf certificate signed by the CA: the server's (for every loopback host) and the client's.
  const leaf = (commonName: string, usage: object, ...extra: object[]) => {
    const key = rsaKey();
    const cert = certificate({
      commonName,
      publicKey: key.publicKey,
      issuer: { cert: ca, key: caKey.key },
      signingKey: caKey.key,
      extensions: [{ name: 'basicConstraints', cA: false }, { name: 'keyUsage', digitalSignature: true, keyEncipherment: true }, { name: 'extKeyUsage', ...usage }, ...extra],
    });
    return { key, cert };
  };
  const altNames = hosts.map((h) => (/^[\d.]+$/.test(h) ? { type: 7, ip: h } : { type: 2, value: h }));
  const { key: serverKey, cert: server } = leaf('qlik-sim', { serverAuth: true }, { name: 'subjectAltName', altNames });
  const { key: clientKey, cert: client } = leaf('QlikClient', { clientAuth: true });
  const pki = {
    dir,
    caCert: forge.pki.certificateToPem(ca),
    serverCert: forge.pki.certificateToPem(server),
    serverKey: serverKey.pem,
    clientCert: forge.pki.certificateToPem(client),
    clientKey: clientKey.pem,
    files: { clientCert: path.join(dir, 'client.pem'), clientCertKey: path.join(dir, 'client_key.pem'), clientCertCA: path.join(dir, 'root.pem') },
  };
  writeFileSync(pki.files.clientCertCA, pki.caCert);
  writeFileSync(pki.files.clientCert, pki.clientCert);
  writeFileSync(pki.files.clientCertKey, pki.clientKey, { mode: 0o600 });
  writeFileSync(path.join(dir, 'server.pem'), pki.serverCert);
  writeFileSync(path.join(dir, 'server_key.pem'), pki.serverKey, { mode: 0o600 });
  return pki;
}
