// The anchor log (SPEC 5.6): the digest chain's head and length after each ingest run, appended to a
// file outside the database (auditSecurityLog.anchorFile: put it on a share the database's users cannot
// write, append-only where the platform allows). The configuration ties a store to its anchors, not
// anything stored in that database, and the file outlives Temporal's retention.
// Each line is `{"entry":{…},"mac":"…"}`; an entry names the one before (`prev`: sha256 of its line)
// and its number (`n`), so the anchors form their own chain; with a digest key each entry is also
// HMAC'd under it, so nobody without the key can write an entry that verifies. A `reanchor` entry is an
// operator's recorded decision (`qlik-audit logs reanchor`) to anchor a chain that no longer holds the
// anchors before it; verify-store checks the store against the entries since the newest one.
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { GENESIS_DIGEST, type DigestKey } from './digest';

/** The anchor file cannot be written (a share not mounted, permissions): retried, as a store outage is. */
export class AnchorFileError extends Error {
  override name = 'AnchorFileError';
}

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

/** One entry, as written. */
const entrySchema = z.strictObject({
  n: z.number().int().positive(),
  type: z.enum(['anchor', 'reanchor']),
  /** The anchor log's own id, made with its first entry (Temporal's copies of anchors name it). */
  log: z.string().min(1).max(64),
  at: z.string().datetime(),
  prev: hex64,
  storeId: z.string().max(64),
  chainHead: hex64,
  batches: z.number().int().min(0),
  rows: z.number().int().min(0),
  keyId: z.string().max(32).nullable(),
  /** The ingest run that wrote it, or the operator (user@host) who re-anchored. */
  by: z.string().max(300),
  /** reanchor only: why, as the operator said, and what verify-store found then. */
  reason: z.string().max(2000).optional(),
  found: z.array(z.string().max(500)).max(50).optional(),
});
const lineSchema = z.strictObject({ entry: entrySchema, mac: z.string().regex(/^([0-9a-f]{64})?$/) });

export type AnchorEntry = z.infer<typeof entrySchema>;

export interface AnchorLogProblem {
  kind: 'anchor-log-broken';
  detail: string;
  /** The line (1-based) it is about. */
  line: number;
}

export interface AnchorLog {
  file: string;
  entries: AnchorEntry[];
  problems: AnchorLogProblem[];
  /** False when the file does not exist. */
  exists: boolean;
}

function parseLine(line: string) {
  try {
    return lineSchema.safeParse(JSON.parse(line));
  } catch {
    return undefined;
  }
}

const lineHash = (line: string) => createHash('sha256').update(line).digest('hex');
const entryMac = (entry: AnchorEntry, key: DigestKey | undefined) => (key ? createHmac('sha256', key.key).update(JSON.stringify(entry)).digest('hex') : '');

/**
 * Reads and checks the whole anchor log: each line's form, its link to the line before, its number,
 * and (with a key) its MAC. A line that fails is reported and its entry not used.
 */
export async function readAnchorLog(file: string, key: DigestKey | undefined): Promise<AnchorLog> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { file, entries: [], problems: [], exists: false };
    throw err;
  }
  const entries: AnchorEntry[] = [];
  const problems: AnchorLogProblem[] = [];
  const broken = (n: number, detail: string) => problems.length < 20 && problems.push({ kind: 'anchor-log-broken', detail: `${file} line ${n}: ${detail}`, line: n });
  let prev = GENESIS_DIGEST;
  let logId: string | undefined;
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  else if (lines.length > 0) broken(lines.length, 'the last line is cut short (a write that did not finish, or the file was cut)');
  lines.forEach((line, i) => {
    const parsed = parseLine(line);
    if (!parsed?.success) return void broken(i + 1, 'not an anchor entry (edited, or not an anchor log)');
    const { entry, mac } = parsed.data;
    if (entry.prev !== prev) broken(i + 1, 'does not name the line before it: an entry was removed, put in or edited');
    else if (entry.n !== i + 1) broken(i + 1, `numbered ${entry.n}: entries were removed or put in`);
    else if (logId !== undefined && entry.log !== logId) broken(i + 1, `belongs to anchor log ${entry.log}, the file began as ${logId}`);
    else if (key && entry.keyId !== key.id) broken(i + 1, entry.keyId ? `written under key id ${entry.keyId}, the key given has id ${key.id}` : `not keyed, in a store verified with a key (key id ${key.id}): anyone who can write the file could have written it`);
    else if (key && mac !== entryMac(entry, key)) broken(i + 1, 'its MAC does not hold under the key: written or edited without it');
    else entries.push(entry);
    logId ??= entry.log;
    prev = lineHash(line);
  });
  // What an operator's re-anchoring (a valid entry) recorded in its `found` is not reported again —
  // e.g. the entries of a key no longer in use, or a line damaged before the decision; anything else is.
  const decided = currentAnchors(entries)[0];
  const known = new Set(decided?.type === 'reanchor' ? decided.found : []);
  const before = decided?.n ?? 0;
  return { file, entries, problems: problems.filter((p) => !(p.line < before && known.has(p.detail))), exists: true };
}

/** The entries that count: those since the newest re-anchoring (an operator's recorded decision). */
export function currentAnchors(entries: AnchorEntry[]): AnchorEntry[] {
  for (let i = entries.length - 1; i >= 0; i--) if (entries[i]?.type === 'reanchor') return entries.slice(i);
  return entries;
}

/** The last complete line of the file (read from its end: the log grows with every run). */
async function lastLine(file: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const { size } = await handle.stat();
    for (let span = 64 * 1024; ; span *= 4) {
      const start = Math.max(0, size - span);
      const buffer = Buffer.alloc(size - start);
      await handle.read(buffer, 0, buffer.length, start);
      const text = buffer.toString('utf8').replace(/\n$/, '');
      const cut = text.lastIndexOf('\n');
      if (cut >= 0 || start === 0) return text.slice(cut + 1) || undefined;
    }
  } finally {
    await handle.close();
  }
}

export type NewAnchor = Pick<AnchorEntry, 'type' | 'storeId' | 'chainHead' | 'batches' | 'rows' | 'by' | 'reason' | 'found'>;

/**
 * Appends an entry after the last one, fsynced (the file, and the folder when the file is new). The
 * caller holds the digest chain's lock, so two processes never append at once.
 */
export async function appendAnchor(file: string, anchor: NewAnchor, key: DigestKey | undefined, now = new Date()): Promise<AnchorEntry> {
  const last = await lastLine(file);
  let before: AnchorEntry | undefined;
  if (last !== undefined) {
    const parsed = parseLine(last);
    if (!parsed?.success) throw new Error(`${file}: its last line is not an anchor entry (edited, or not an anchor log); see \`qlik-audit logs verify-store\``);
    before = parsed.data.entry;
  }
  const entry: AnchorEntry = {
    n: (before?.n ?? 0) + 1,
    type: anchor.type,
    log: before?.log ?? randomUUID(),
    at: now.toISOString(),
    prev: last === undefined ? GENESIS_DIGEST : lineHash(last),
    storeId: anchor.storeId,
    chainHead: anchor.chainHead,
    batches: anchor.batches,
    rows: anchor.rows,
    keyId: key?.id ?? null,
    by: anchor.by.slice(0, 300),
    ...(anchor.reason !== undefined ? { reason: anchor.reason } : {}),
    ...(anchor.found !== undefined ? { found: anchor.found } : {}),
  };
  entrySchema.parse(entry); // never write a line no reader would accept
  const line = JSON.stringify({ entry, mac: entryMac(entry, key) });
  try {
    const created = last === undefined && !(await stat(file).catch(() => undefined));
    if (created) await mkdir(path.dirname(file), { recursive: true });
    const handle = await open(file, 'a', 0o640);
    try {
      await handle.appendFile(`${line}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (created) {
      const dir = await open(path.dirname(file), 'r').catch(() => undefined); // Windows cannot open a folder: NTFS journals the entry
      await dir?.sync().catch(() => undefined);
      await dir?.close();
    }
  } catch (err) {
    throw new AnchorFileError(`auditSecurityLog.anchorFile ${file}: cannot append the anchor (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): check that the folder exists or can be created and that this account may write to it (retried)`);
  }
  return entry;
}

/** The last entry, checked on its own (form and MAC): what an ingest run checks the chain against. */
export async function readLastAnchor(file: string, key: DigestKey | undefined): Promise<{ entry?: AnchorEntry; problem?: string }> {
  const last = await lastLine(file);
  if (last === undefined) return {};
  const parsed = parseLine(last);
  if (!parsed?.success) return { problem: `${file}: its last line is not an anchor entry (edited, cut short, or not an anchor log)` };
  const { entry, mac } = parsed.data;
  if (key && entry.keyId !== key.id) return { problem: `${file}: the last anchor was ${entry.keyId ? `written under key id ${entry.keyId}, the key configured has id ${key.id}` : 'written without a key, and a key is configured'}` };
  if (key && mac !== entryMac(entry, key)) return { problem: `${file}: the last anchor's MAC does not hold under the key: written or edited without it` };
  return { entry };
}
