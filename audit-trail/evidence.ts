// The evidence bundle (SPEC 6.2): one zip an auditor can check without us —
//   README.txt                 what is in it and how to check it
//   timeline.jsonl / .csv      the user's merged audit trail for the period
//   screenshots/               every stored screenshot of the period with its sidecar (sha256 at download)
//   security-log/rows.csv      the user's AuditSecurity rows with their verification results
//   security-log/findings.jsonl the findings on the files those rows came from
//   verify-store.json          the store's integrity report (digest chain and anchors) at export time
//   anchors.jsonl              the anchor log it was checked against, as it was
//   access.jsonl               who looked at this user's trail through the auditor's view (SPEC 6.3)
//   MANIFEST.sha256            sha256 of every file above (`sha256sum -c MANIFEST.sha256`)
// Everything is streamed: large parts go to a scratch folder first, then each file is read once into
// the zip while its sha256 is computed, so 10,000 screenshots never sit in memory.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, type ReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable, Transform, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import yazl from 'yazl';
import { accessesOf } from '../store/access-records';
import type { Sql } from '../store/store';
import { securityRowsCursor, SECURITY_ROWS_START, securityRowsPage, timeline, type TimelineEntry, type TimelineQuery } from '../store/timeline';
import { insideStorageTargets, screenshotFiles } from '../common/stored-files';
import { csvLine } from './csv';

export interface EvidenceOptions {
  query: TimelineQuery & { from: string; to: string };
  /** The verify-store report (JSON-able), computed by the caller with the anchors it could get. */
  verifyReport: unknown;
  out: string;
  /** Called now and then with what has been written (for a progress line). */
  progress?: (state: { entries: number; screenshots: number }) => void;
  /** Who made the bundle and with what (into README.txt). */
  producer: string;
  /** The enabled storage targets' folders: a screenshot path read from the store outside them is refused, not read. */
  storageDirectories: readonly string[];
  /** The anchor log (auditSecurityLog.anchorFile), copied in as it was, when it exists. */
  anchorFile?: string;
}

export interface EvidenceSummary {
  out: string;
  /** Looks at this user's trail through the auditor's view (access.jsonl). */
  accesses: number;
  entries: number;
  screenshots: number;
  screenshotsMissing: string[];
  /** Paths the store names outside the storage targets: not read, listed in screenshots/REFUSED.txt. */
  screenshotsRefused: string[];
  securityRows: number;
  files: number;
  /** sha256 of MANIFEST.sha256 and of the whole zip: note them down to pin the bundle. */
  manifestSha256: string;
  zipSha256: string;
}

const TIMELINE_COLUMNS = ['time', 'source', 'reportedBy', 'type', 'app', 'detail', 'user', 'eventId', 'workflowId', 'status', 'sessionVerified', 'files', 'sha256', 'machine', 'service', 'file', 'line', 'sequence', 'checksumValid', 'headerOk'];
const ROW_COLUMNS = [
  'machine', 'service', 'file_name', 'line', 'sequence', 'ts_text', 'ts_utc', 'product_version', 'hostname', 'event_id', 'description', 'proxy_session_id',
  'proxy_package_id', 'request_sequence_id', 'user_directory', 'user_id', 'object_id', 'object_name', 'security_class', 'client_host_address',
  'origin_service', 'origin', 'context', 'command', 'result', 'message', 'checksum', 'checksum_valid', 'header_ok', 'batch_id',
];

/**
 * A file read only when the zip gets to it (10,000 screenshots must not be 10,000 open files), each
 * chunk seen by `onChunk` on its way; `done` settles when it was read to the end.
 */
function lazyFile(file: string, onChunk: (chunk: Buffer) => void): { stream: Readable; done: Promise<void> } {
  let source: ReadStream | undefined;
  let settle: { resolve: () => void; reject: (err: Error) => void } | undefined;
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  const stream = new Readable({
    read() {
      if (source) return void source.resume();
      source = createReadStream(file);
      source.on('data', (chunk: string | Buffer) => {
        if (typeof chunk === 'string') chunk = Buffer.from(chunk);
        onChunk(chunk);
        if (!stream.push(chunk)) source?.pause();
      });
      source.on('end', () => (stream.push(null), settle?.resolve()));
      source.on('error', (err) => (stream.destroy(err), settle?.reject(err)));
    },
  });
  return { stream, done };
}

async function write(stream: Writable, text: string): Promise<void> {
  if (!stream.write(text)) await new Promise((resolve) => stream.once('drain', resolve));
}

async function closeFile(stream: Writable): Promise<void> {
  stream.end();
  await finished(stream);
}

function readme(options: EvidenceOptions, summary: Omit<EvidenceSummary, 'manifestSha256' | 'zipSha256' | 'files' | 'out'>, createdAt: string): string {
  const { query } = options;
  return [
    `Evidence bundle: the audit trail of ${query.userDirectory}\\${query.userId}`,
    `Period: ${query.from} (inclusive) to ${query.to} (exclusive), UTC`,
    `Created: ${createdAt} by ${options.producer}`,
    '',
    'Contents',
    `  timeline.jsonl, timeline.csv   ${summary.entries} entries, oldest first: Audit.qs events (what the user did in the`,
    '                                 app), screenshots (what they saw) and AuditSecurity rows (what Qlik Sense recorded).',
    '                                 reportedBy says whose word each is: "browser" (Audit.qs events, and the screenshots',
    "                                 they asked for: claims a user's browser made, which anyone holding the event API's",
    '                                 token could make) or "qlik" (rows of Qlik\'s own log). sessionVerified: whether QPS',
    '                                 said the user named was signed in to Qlik when the screenshot was taken (userTicket mode)',
    `  screenshots/                   ${summary.screenshots} screenshot file(s), each with its JSON sidecar (sha256 taken at download)`,
    ...(summary.screenshotsMissing.length ? [`                                 ${summary.screenshotsMissing.length} file(s) listed in the timeline were not found where they were stored (screenshots/MISSING.txt)`] : []),
    `  security-log/rows.csv          ${summary.securityRows} AuditSecurity row(s) with checksum_valid (Qlik's SHA-1 row checksum`,
    "                                 verified at ingestion) and header_ok (the file's header was Qlik's documented layout)",
    '  security-log/findings.jsonl    verification findings on the log files those rows came from',
    "  verify-store.json              the store's integrity check when the bundle was made: its digest chain recomputed",
    '                                 and compared with anchors kept outside the database ("ok": true = no change found)',
    ...(options.anchorFile && existsSync(options.anchorFile) ? ['  anchors.jsonl                  the anchor log those anchors came from, as it was (one JSON entry per ingest run)'] : []),
    `  access.jsonl                   who accessed this trail: ${summary.accesses} look(s) at it through the auditor's view`,
    '                                 (sign-ins aside: each trail viewed, screenshot opened, bundle downloaded, with who,',
    '                                 their role, when and from where), oldest first, including the download of this bundle',
    '  MANIFEST.sha256                the sha256 of every file above',
    '',
    'How to check that the bundle was not altered',
    '  1. Compare the sha256 of this zip with the one printed when it was made (kept by whoever made it).',
    '  2. Unpack it and check every file against the manifest:',
    '       Linux/macOS:  unzip bundle.zip -d bundle && cd bundle && sha256sum -c MANIFEST.sha256',
    '       Windows:      Expand-Archive bundle.zip bundle; Get-FileHash -Algorithm SHA256 <file>, compared with MANIFEST.sha256',
    '     Every line must say OK. A changed, added-to or truncated file shows as FAILED.',
    '  3. Each screenshot sidecar holds the sha256 of the image as downloaded: sha256sum the image and compare.',
    '',
  ].join('\n');
}

/** Writes the bundle; returns what is in it. */
export async function writeEvidence(sql: Sql, options: EvidenceOptions): Promise<EvidenceSummary> {
  const scratch = mkdtempSync(path.join(tmpdir(), 'qlik-audit-evidence-'));
  const partial = `${options.out}.part`; // renamed when complete: a half-written bundle never looks finished
  try {
    const createdAt = new Date().toISOString();
    // 1. The timeline, to scratch files (JSON lines and CSV); the screenshots it names are collected.
    const jsonl = createWriteStream(path.join(scratch, 'timeline.jsonl'));
    const csv = createWriteStream(path.join(scratch, 'timeline.csv'));
    await write(csv, csvLine(TIMELINE_COLUMNS));
    const shots: { file: string; name: string }[] = [];
    const missing: string[] = [];
    const refused: string[] = [];
    const usedNames = new Set<string>();
    let entries = 0;
    let lastProgress = 0;
    for await (const entry of timeline(sql, options.query)) {
      entries++;
      await write(jsonl, `${JSON.stringify(entry)}\n`);
      await write(csv, csvLine(TIMELINE_COLUMNS.map((c) => cell(entry, c))));
      if (entry.source === 'screenshot' && Array.isArray(entry.files)) {
        for (const file of entry.files as string[]) {
          // A path is data a database user can rewrite (to the QPS client key, say): only storage targets are read.
          if (!insideStorageTargets(file, options.storageDirectories)) {
            refused.push(file);
            continue;
          }
          if (!existsSync(file)) {
            missing.push(file);
            continue;
          }
          // Several storage targets may hold the same name: one copy in the bundle is enough, but two
          // different events never collide (names carry the event id).
          const name = path.basename(file);
          if (usedNames.has(name)) continue;
          usedNames.add(name);
          shots.push({ file, name });
        }
      }
      if (options.progress && Date.now() - lastProgress > 500) {
        lastProgress = Date.now();
        options.progress({ entries, screenshots: shots.length });
      }
    }
    await closeFile(jsonl);
    await closeFile(csv);

    // 2. The user's AuditSecurity rows with their verification results, and the findings on their files.
    const rowsFile = createWriteStream(path.join(scratch, 'rows.csv'));
    await write(rowsFile, csvLine(ROW_COLUMNS));
    let securityRows = 0;
    let cursor: unknown[] = [options.query.from, ...SECURITY_ROWS_START];
    const files = new Set<string>();
    const page = securityRowsPage(ROW_COLUMNS.join(', '));
    for (;;) {
      const { rows } = await sql.query<Record<string, unknown>>(page, [options.query.userDirectory, options.query.userId, options.query.to, ...cursor, 5000]);
      for (const row of rows) {
        securityRows++;
        files.add(`${row.machine}\u0000${row.service}\u0000${row.file_name}`);
        await write(rowsFile, csvLine(ROW_COLUMNS.map((c) => (row[c] instanceof Date ? (row[c] as Date).toISOString() : row[c]))));
      }
      if (rows.length < 5000) break;
      cursor = securityRowsCursor(rows[rows.length - 1] as object);
    }
    await closeFile(rowsFile);
    const findingsFile = createWriteStream(path.join(scratch, 'findings.jsonl'));
    for (const key of files) {
      const [machine, service, fileName] = key.split('\u0000');
      const { rows } = await sql.query<Record<string, unknown>>(
        'SELECT kind, severity, machine, service, file_name, path, line, sequence, detail, created_at FROM audit_findings WHERE machine = $1 AND service = $2 AND file_name = $3 ORDER BY line, kind',
        [machine, service, fileName],
      );
      for (const row of rows) await write(findingsFile, `${JSON.stringify(row)}\n`);
    }
    await closeFile(findingsFile);

    // 3. Who accessed this trail (all of it, not only the period: a look at any part is a look at the person).
    const accesses = await accessesOf(sql, options.query, { oldestFirst: true });
    const accessText = accesses.map((a) => `${JSON.stringify(a)}\n`).join('');

    // 4. The zip: every file hashed as it is read into it; the manifest last.
    const summary = { entries, screenshots: shots.length, screenshotsMissing: missing, screenshotsRefused: refused, securityRows, accesses: accesses.length };
    const zip = new yazl.ZipFile();
    const output = createWriteStream(partial);
    const zipHash = createHash('sha256');
    const zipDone = finished(zip.outputStream.pipe(new Transform({ transform: (chunk, _enc, done) => (zipHash.update(chunk), done(null, chunk)) })).pipe(output));
    const manifest: string[] = [];
    const hashes: Promise<void>[] = [];
    const addFile = (file: string, name: string) => {
      const hash = createHash('sha256');
      const { stream, done } = lazyFile(file, (chunk) => hash.update(chunk));
      hashes.push(done.then(() => void manifest.push(`${hash.digest('hex')}  ${name}`)));
      zip.addReadStream(stream, name, { compress: !/\.(png|jpe?g|gif|webp)$/i.test(name) });
    };
    const addText = (text: string, name: string) => {
      manifest.push(`${createHash('sha256').update(text).digest('hex')}  ${name}`);
      zip.addBuffer(Buffer.from(text), name);
    };
    addText(readme(options, summary, createdAt), 'README.txt');
    addFile(path.join(scratch, 'timeline.jsonl'), 'timeline.jsonl');
    addFile(path.join(scratch, 'timeline.csv'), 'timeline.csv');
    addFile(path.join(scratch, 'rows.csv'), 'security-log/rows.csv');
    addFile(path.join(scratch, 'findings.jsonl'), 'security-log/findings.jsonl');
    addText(`${JSON.stringify(options.verifyReport, null, 2)}\n`, 'verify-store.json');
    if (options.anchorFile && existsSync(options.anchorFile)) addText(readFileSync(options.anchorFile, 'utf8'), 'anchors.jsonl');
    addText(accessText, 'access.jsonl');
    let added = 0;
    for (const shot of shots) {
      addFile(shot.file, `screenshots/${shot.name}`);
      const sidecar = `${shot.file}.json`;
      if (existsSync(sidecar)) addFile(sidecar, `screenshots/${shot.name}.json`);
      // Butler SOS's `_metadata.png` beside it (the image under a header band), when one was written.
      const withHeader = screenshotFiles(shot.file)[2];
      if (withHeader && existsSync(withHeader)) addFile(withHeader, `screenshots/${path.basename(withHeader)}`);
      added++;
    }
    if (missing.length) addText(`${missing.join('\n')}\n`, 'screenshots/MISSING.txt');
    if (refused.length) addText(`Paths the store names outside the configured storage targets, not read (an edited row?):\n${refused.join('\n')}\n`, 'screenshots/REFUSED.txt');
    // The manifest is added last: yazl reads entries in order, so every hash above is known when it is read.
    const manifestStream = new PassThrough();
    zip.addReadStream(manifestStream, 'MANIFEST.sha256');
    zip.end();
    await Promise.all(hashes);
    manifest.sort((a, b) => a.slice(66).localeCompare(b.slice(66)));
    const manifestText = `${manifest.join('\n')}\n`;
    manifestStream.end(manifestText);
    await zipDone;
    renameSync(partial, options.out);
    options.progress?.({ entries, screenshots: added });
    return {
      out: options.out,
      ...summary,
      files: manifest.length + 1,
      manifestSha256: createHash('sha256').update(manifestText).digest('hex'),
      zipSha256: zipHash.digest('hex'),
    };
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function cell(entry: TimelineEntry, column: string): unknown {
  const value = entry[column];
  return Array.isArray(value) ? value.join(' ') : value;
}
