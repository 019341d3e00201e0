// Finding Qlik AuditSecurity log files and ordering them into chains (SPEC 5.1):
//   <Machine>_AuditSecurity_<Service>.txt                              the live file
//   <Machine>_AuditSecurity_<Service>_<YYYY-MM-DDTHH.mm.ss>Z.log       archived, UTC close time
// Names are parsed from the right, since machine names may contain `_`. A chain is every file of one
// (machine, service), ordered by close time, the live file last.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

export interface LogFile {
  path: string;
  machine: string;
  service: string;
  live: boolean;
  /** ISO UTC close time of an archived file; null for the live file. */
  closedAt: string | null;
}

const NAME = /^(.+)_AuditSecurity_([A-Za-z0-9-]+?)(?:_(\d{4}-\d{2}-\d{2})T(\d{2})\.(\d{2})\.(\d{2})Z\.log|\.txt)$/;

export function parseLogFileName(file: string): LogFile | undefined {
  const match = NAME.exec(path.basename(file));
  if (!match) return undefined;
  const [, machine = '', service = '', date, hh, mm, ss] = match;
  return { path: file, machine, service, live: date === undefined, closedAt: date ? `${date}T${hh}:${mm}:${ss}Z` : null };
}

export class UnreadablePathError extends Error {
  override name = 'UnreadablePathError';
}

async function walk(dir: string, found: string[]): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await walk(full, found);
    else if (entry.isFile() && parseLogFileName(entry.name)) found.push(full);
  }
}

/** Files named on the command line (or config sources) and AuditSecurity files found below folders. */
export async function discoverLogFiles(paths: string[]): Promise<LogFile[]> {
  const found: string[] = [];
  for (const p of paths) {
    let info;
    try {
      info = await stat(p);
    } catch (err) {
      throw new UnreadablePathError(`cannot read ${p}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    if (info.isDirectory()) await walk(p, found);
    else if (parseLogFileName(p)) found.push(p);
    else throw new UnreadablePathError(`${p} is not an AuditSecurity log (expected <Machine>_AuditSecurity_<Service>.txt or …_<YYYY-MM-DDTHH.mm.ss>Z.log)`);
  }
  const unique = [...new Set(found.map((f) => path.resolve(f)))];
  return unique.map((f) => parseLogFileName(f) as LogFile);
}

/** Groups files into chains per (machine, service): archives by close time, then the live file. */
export function buildChains(files: LogFile[]): LogFile[][] {
  const chains = new Map<string, LogFile[]>();
  for (const file of files) {
    const key = `${file.machine.toLowerCase()}\u0000${file.service.toLowerCase()}`;
    chains.set(key, [...(chains.get(key) ?? []), file]);
  }
  const order = (f: LogFile) => (f.live ? '\uffff' : (f.closedAt ?? ''));
  return [...chains.values()].map((chain) => chain.sort((a, b) => order(a).localeCompare(order(b)) || a.path.localeCompare(b.path)));
}
