// Payload encryption (SPEC 8), as in Temporal's encryption sample: every payload our clients and
// workers write — workflow inputs and results, activity arguments, summaries, memos — is sealed with
// AES-256-GCM under the current key (a fresh 12-byte IV each, the key id in the metadata), so the
// Temporal server, its database and its operators hold ciphertext. Any listed key decodes, so keys
// rotate: add the new one, make it current, keep the old one while histories it wrote are retained.
// Search attributes are not payloads and stay readable (docs/encryption.md: what they carry).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec, ValueError } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { ConfigError, type Config } from './config';

export const ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const text = new TextEncoder();
const untext = new TextDecoder();

export interface EncryptionKey {
  id: string;
  key: Buffer;
}

/** The configured keys, read and checked (32 bytes each); undefined when encryption is off. Throws ConfigError naming the key. */
export function encryptionKeys(config: Pick<Config, 'temporal'>): { current: EncryptionKey; all: Map<string, EncryptionKey> } | undefined {
  const settings = config.temporal.encryption;
  if (!settings) return undefined;
  const all = new Map<string, EncryptionKey>();
  settings.keys.forEach((k, i) => {
    let base64 = k.key;
    if (k.keyFile) {
      try {
        base64 = readFileSync(k.keyFile, 'utf8').trim();
      } catch (err) {
        throw new ConfigError(`temporal.encryption.keys[${i}].keyFile: cannot read ${k.keyFile} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      }
    }
    const key = Buffer.from(base64, 'base64');
    if (key.length !== 32 || key.toString('base64').replace(/=+$/, '') !== base64.replace(/=+$/, '')) {
      throw new ConfigError(`temporal.encryption.keys[${i}] (${k.id}): expected 32 bytes in base64 (make one with: openssl rand -base64 32)`);
    }
    all.set(k.id, { id: k.id, key });
  });
  const current = all.get(settings.current || (settings.keys.at(-1)?.id as string)) as EncryptionKey;
  return { current, all };
}

export class EncryptionCodec implements PayloadCodec {
  constructor(
    private readonly current: EncryptionKey,
    private readonly keys: Map<string, EncryptionKey>,
  ) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
      const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return { metadata: { [METADATA_ENCODING_KEY]: text.encode(ENCODING), [KEY_ID]: text.encode(this.current.id) }, data: sealed };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || untext.decode(encoding) !== ENCODING) return payload; // written before encryption was on
      const id = payload.metadata?.[KEY_ID] ? untext.decode(payload.metadata[KEY_ID]) : '';
      const key = this.keys.get(id);
      if (!key) throw new ValueError(`a payload is encrypted under key '${id}', which is not in temporal.encryption.keys: add it back to read it`);
      const data = Buffer.from(payload.data ?? new Uint8Array());
      if (data.length < IV_BYTES + TAG_BYTES) throw new ValueError('an encrypted payload is cut short');
      const decipher = createDecipheriv('aes-256-gcm', key.key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw new ValueError(`an encrypted payload does not authenticate under key '${id}': it was altered, or the key is not the one it was written with`);
      }
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

/** The data converter of every client and worker of ours: the codec when encryption is configured. */
export function dataConverterFor(config: Pick<Config, 'temporal'>): { payloadCodecs: PayloadCodec[] } | undefined {
  const keys = encryptionKeys(config);
  return keys ? { payloadCodecs: [new EncryptionCodec(keys.current, keys.all)] } : undefined;
}
