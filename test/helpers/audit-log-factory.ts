// Realistic Qlik AuditSecurity log files with valid checksums and sequences, for tests and the
// ingestion benchmark; and helpers to tamper with copies of the real sample files.
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The real Qlik sample logs, kept unedited in the repository (demo/qlik-logs/PROVENANCE.md, SHA256SUMS). */
export const SAMPLES = path.resolve(__dirname, '../../demo/qlik-logs');
export const HEADER =
  'Sequence#\tProductVersion\tTimestamp\tHostname\tId\tDescription\tProxySessionId\tProxyPackageId\tRequestSequenceId\tUserDirectory\tUserId\tObjectId\tObjectName\tSecurityClass\tClientHostAddress\tService\tOrigin\tContext\tCommand\tResult\tMessage\tChecksum';
const BOM = '\ufeff';

/** A row line (without CRLF) with a correct checksum. */
export function auditRow(sequence: number, when: Date, user = `user${sequence % 50}`, extra = ''): string {
  const stamp = when.toISOString().replace(/[-:]/g, '').replace('Z', '+0000');
  const fields = [
    String(sequence), '20.4.2.0', stamp, 'QlikServer1', `0000${sequence}`.slice(-8) + '-cef3-4d96-8fe9-7a7f5fbfa999',
    `Command=Check access;Result=0;ResultText=Success${extra}`, '0', '0', '0', 'DOMAIN', user, 'f9aca7ea-cef3-4d96-8fe9-7a7f5fbfa999', 'Sales Analysis',
    'Security', '10.0.0.7', 'Repository', 'AppAccess', '/qrs/app/full', 'Check access', '0', `Access to app granted to DOMAIN\\${user}`,
  ];
  const body = `${fields.join('\t')}\t`;
  return `${body}${createHash('sha1').update(Buffer.from(body, 'utf8')).digest('hex')}`;
}

/** File text: BOM, header, rows from..to, optional signature line; CRLF everywhere. */
export function auditFile(from: number, to: number, options: { start?: Date; signed?: boolean } = {}): string {
  const start = options.start?.getTime() ?? Date.UTC(2026, 0, 1);
  const rows = [];
  for (let s = from; s <= to; s++) rows.push(auditRow(s, new Date(start + (s - from) * 1000)));
  const signature = options.signed ? [`Signature:\t${createHash('sha1').update(`${from}-${to}`).digest('hex')}`] : [];
  return `${BOM}${[HEADER, ...rows, ...signature].join('\r\n')}\r\n`;
}

/** A writable temporary copy of the shared sample folder (the originals are read-only and never edited). */
export function copySamples(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-logs-'));
  cpSync(SAMPLES, dir, { recursive: true });
  const makeWritable = (p: string) => {
    chmodSync(p, statSync(p).isDirectory() ? 0o755 : 0o644);
    if (statSync(p).isDirectory()) for (const entry of readdirSync(p)) makeWritable(path.join(p, entry));
  };
  makeWritable(dir);
  return dir;
}

export const ARCHIVE_1 = 'archived/QLIKSERVER1_AuditSecurity_Repository_2019-01-31T15.23.36Z.log';
export const ARCHIVE_2 = 'archived/QLIKSERVER1_AuditSecurity_Repository_2019-02-01T03.59.01Z.log';
export const LIVE = 'current/QLIKSERVER1_AuditSecurity_Repository.txt';

/** Edits the lines (CRLF-separated, BOM kept on line 0) of one file of a sample copy. */
export function tamper(dir: string, file: string, edit: (lines: string[]) => string[]): string {
  const full = path.join(dir, file);
  const text = readFileSync(full, 'utf8');
  const lines = text.split('\r\n');
  const trailing = lines.at(-1) === '' ? lines.pop() : undefined;
  const changed = edit([...lines]).join('\r\n') + (trailing === '' ? '\r\n' : '');
  if (changed === text) throw new Error(`tamper() did not change ${file}`);
  writeFileSync(full, changed);
  return full;
}

/** Recomputes a row line's checksum (so a test can change one thing without also breaking the checksum). */
export function withValidChecksum(line: string): string {
  const body = line.slice(0, line.lastIndexOf('\t') + 1);
  return `${body}${createHash('sha1').update(Buffer.from(body, 'utf8')).digest('hex')}`;
}

export interface SecurityRowFields {
  directory?: string;
  user?: string;
  command?: string;
  result?: string;
  message?: string;
  /** ClientHostAddress as Qlik writes it ("[::ffff:10.1.2.3]:51234", "Not available"). */
  address?: string;
  object?: string;
  service?: string;
}

/** A row line (without CRLF) with the fields a detection reads, and a correct checksum. */
export function securityRow(sequence: number, when: Date, f: SecurityRowFields = {}): string {
  const stamp = when.toISOString().replace(/[-:]/g, '').replace('Z', '+0000');
  const command = f.command ?? 'Check access';
  const result = f.result ?? '0';
  const fields = [
    String(sequence), '20.4.2.0', stamp, 'QlikServer9', `${randomUUIDLike(sequence)}`,
    `Command=${command};Result=${result};ResultText=${result === '0' ? 'Success' : 'Error'}`, '0', '0', '0', f.directory ?? 'DOMAIN', f.user ?? 'anna',
    '0', f.object ?? 'Not available', 'Security', f.address ?? 'Not available', f.service ?? 'Proxy', 'Not available', '/', command, result, f.message ?? `${command} ${result === '0' ? 'succeeded' : 'failed'}`,
  ];
  const body = `${fields.join('\t')}\t`;
  return `${body}${createHash('sha1').update(Buffer.from(body, 'utf8')).digest('hex')}`;
}

const randomUUIDLike = (n: number) => `${`00000000${n}`.slice(-8)}-0000-4000-8000-000000000000`;

/** File text of row lines: BOM, header, the rows; CRLF everywhere. */
export function securityFile(rows: string[]): string {
  return `${BOM}${[HEADER, ...rows].join('\r\n')}\r\n`;
}
