// The embedded audit store (`embedded:<folder>`): a real PostgreSQL server shipped with the product,
// in a data folder of its own, shared by every qlik-audit process that names that folder.
//
// Who starts and stops it:
//   - the first qlik-audit process that needs it starts it (`pg_ctl start`; the server runs in a
//     session of its own, so a Ctrl-C in one terminal does not stop it for the others); two that
//     start at once are told apart by PostgreSQL's own lock, `postmaster.pid`: one wins, the other
//     connects to it;
//   - every process using it holds a shared advisory lock on a connection of its own ("presence");
//     one that leaves releases it and, when it can then take the lock exclusively (no other
//     qlik-audit process is left), stops the server (`pg_ctl stop -m fast`);
//   - a process killed outright leaves the server running (it is a real server: nothing is lost),
//     and the next process to leave stops it; a server that was killed is started again by the
//     next connection that finds it gone (crash recovery replays its WAL: fsync is on).
//
// It listens on no TCP port: a Unix socket in the data folder (mode 0700), so only the user that
// runs it (and root) can connect, and trust auth there is what peer auth would be. On Windows
// (no Unix socket for node-postgres there) it listens on 127.0.0.1 with a generated password.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientConfig } from 'pg';
import { POSTGRES_MAJOR, postgresBinaries, serverUser, type ServerUser } from './embedded-binaries';
import { EmbeddedServerError, StoreFormatError } from './store-errors';

/** The database the audit store lives in (initdb's `postgres` database stays for administration). */
export const EMBEDDED_DATABASE = 'qlik_audit';
const SUPERUSER = 'postgres';
const SETTINGS_FILE = 'qlik-audit.conf';
const STATE_FILE = 'qlik-audit-embedded.json';
const PRESENCE_LOCK = [72233, 0] as const; // advisory lock key pair, in database `postgres`
const START_TIMEOUT_S = 60;

export type Transport = 'socket' | 'tcp';

/** What `initdb` left for the processes that connect later: how to reach the server. */
interface State {
  transport: Transport;
  port: number;
  password?: string;
}

export interface EmbeddedServer {
  dataDir: string;
  /** node-postgres settings for the audit database (host is the socket folder, or 127.0.0.1). */
  connection: ClientConfig;
  /** Starts the server when it is not running (stopped by the last process, crashed, killed). */
  ensureRunning(): Promise<void>;
  /** This process no longer uses the server: stops it when no other qlik-audit process does. */
  release(): Promise<void>;
}

export interface OpenEmbeddedOptions {
  /** Shown in pg_stat_activity: which qlik-audit command holds the connection. */
  applicationName?: string;
  /** For a new folder only (default: socket, tcp on Windows). */
  transport?: Transport;
}

// The server's settings, written on every start (a moved folder gets its new socket path).
// fsync, synchronous_commit and full_page_writes are PostgreSQL's defaults, spelled out: an
// acknowledged event must survive a power loss. The rest keeps a small site's server small.
function settings(state: State, socketDir: string): string {
  const quote = (value: string) => `'${value.replace(/'/g, "''")}'`;
  const lines: Record<string, string | number> = {
    listen_addresses: state.transport === 'tcp' ? quote('127.0.0.1') : quote(''),
    port: state.port,
    unix_socket_directories: state.transport === 'tcp' ? quote('') : quote(socketDir),
    unix_socket_permissions: '0700',
    fsync: 'on',
    synchronous_commit: 'on',
    full_page_writes: 'on',
    shared_buffers: quote('32MB'),
    wal_buffers: quote('4MB'),
    max_connections: 100,
    io_method: quote('sync'), // PostgreSQL 18's I/O worker processes: memory for little gain here
    max_parallel_workers_per_gather: 0,
    max_logical_replication_workers: 0, // no subscriptions here: no launcher process either
    huge_pages: 'off',
    log_destination: quote('stderr'),
    logging_collector: 'off',
    log_min_messages: 'warning',
    log_line_prefix: quote('%m [%p] '),
  };
  return `# Written by qlik-audit at every start of the embedded server; edit postgresql.conf instead.\n${Object.entries(lines)
    .map(([key, value]) => `${key} = ${value}`)
    .join('\n')}\n`;
}

/** Unix sockets have a path limit (~107 bytes): a deep folder gets its socket under the temp folder. */
function socketDirFor(dataDir: string): string {
  if (path.join(dataDir, '.s.PGSQL.65535.lock').length <= 100) return dataDir;
  return path.join(tmpdir(), `qlik-audit-pg-${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

interface Ran {
  code: number | null;
  output: string;
}

/** Runs a PostgreSQL program as the server's user; resolves with its exit code and output. */
function run(file: string, args: string[], as: ServerUser, timeoutMs = (START_TIMEOUT_S + 30) * 1000): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      uid: as.uid,
      gid: as.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
      detached: true, // a session of its own: a Ctrl-C meant for one qlik-audit process never reaches the server
      // Messages in English and no locale of the machine leaking into the cluster.
      env: { ...process.env, LC_ALL: 'C', LANG: 'C', LC_MESSAGES: 'C', PGTZ: 'UTC' },
      timeout: timeoutMs,
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', (err) => resolve({ code: -1, output: `${output}${err.message}` }));
    child.once('close', (code) => resolve({ code, output }));
  });
}

/** The line of a program's output (or the server log's tail) that says what went wrong. */
function reason(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const first = (pattern: RegExp) => lines.find((l) => pattern.test(l));
  // The server's own FATAL line says more than pg_ctl's "could not start server".
  return (first(/\b(FATAL|PANIC|ERROR):/) ?? first(/could not|cannot|Permission denied|not permitted/i) ?? lines.at(-1) ?? 'no output').replace(/^\S+ \S+ UTC \[\d+\] /, '').slice(0, 400);
}

/** As root, a permission error is about the user the server runs as: say which, and what to do. */
function rootHint(as: ServerUser, text: string): string {
  if (as.uid === undefined || !/Permission denied|could not access|not permitted/i.test(text)) return '';
  return ` (the server runs as user ${as.name}, since PostgreSQL refuses root: it needs to reach the folder and the node_modules binaries; make them readable by ${as.name}, or run qlik-audit as a non-root user)`;
}

/** Root only: hands a file or folder we made to the user the server runs as. */
function giveTo(as: ServerUser, target: string): void {
  if (as.uid !== undefined) chownSync(target, as.uid, as.gid ?? as.uid);
}

/** Checks an existing data folder, or creates one (initdb in a staging folder, renamed into place). */
async function initialise(dataDir: string, as: ServerUser, transport: Transport): Promise<void> {
  const versionFile = path.join(dataDir, 'PG_VERSION');
  if (existsSync(versionFile)) {
    const major = readFileSync(versionFile, 'utf8').trim();
    if (major !== String(POSTGRES_MAJOR)) {
      throw new StoreFormatError(
        major === '17' && !existsSync(path.join(dataDir, STATE_FILE))
          ? `${dataDir} holds the PGlite store of an earlier qlik-audit version, which this version cannot open: move the folder away and ingest again (the log files are the source; Audit.qs events and screenshot outcomes in it are not carried over)`
          : `${dataDir} is a PostgreSQL ${major} data folder; the embedded server is PostgreSQL ${POSTGRES_MAJOR}: point auditSecurityLog.store at another folder, or run that data in a PostgreSQL ${major} server (postgres://)`,
      );
    }
    if (!existsSync(path.join(dataDir, STATE_FILE))) throw new StoreFormatError(`${dataDir} is a PostgreSQL data folder not made by qlik-audit (no ${STATE_FILE}): point auditSecurityLog.store at an empty or new folder, or at that server with a postgres:// URL`);
    return;
  }
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    throw new StoreFormatError(`${dataDir} is not empty and is not an embedded store: point auditSecurityLog.store at an empty or new folder (embedded:<folder>)`);
  }
  const parent = path.dirname(dataDir);
  mkdirSync(parent, { recursive: true });
  const staging = path.join(parent, `.${path.basename(dataDir)}.initdb-${process.pid}-${randomBytes(3).toString('hex')}`);
  mkdirSync(staging, { mode: 0o700 });
  try {
    giveTo(as, staging);
    const state: State = { transport, port: transport === 'tcp' ? await freePort() : 5432 };
    const args = ['-D', staging, '-U', SUPERUSER, '-E', 'UTF8', '--locale=C', '--auth-local=trust', '--no-instructions'];
    let pwfile: string | undefined;
    if (transport === 'tcp') {
      state.password = randomBytes(24).toString('base64url');
      pwfile = path.join(staging, '.pwfile');
      writeFileSync(pwfile, `${state.password}\n`, { mode: 0o600 });
      giveTo(as, pwfile);
      args.push('--auth-host=scram-sha-256', `--pwfile=${pwfile}`);
    } else {
      args.push('--auth-host=reject'); // no TCP listener anyway
    }
    const { initdb } = postgresBinaries();
    // initdb refuses a non-empty folder: the password file goes before it runs only in tcp mode, so it gets a subfolder.
    const target = pwfile ? path.join(staging, 'data') : staging;
    if (pwfile) {
      mkdirSync(target, { mode: 0o700 });
      giveTo(as, target);
      args[1] = target;
    }
    const ran = await run(initdb, args, as, 120_000);
    if (ran.code !== 0) throw new EmbeddedServerError(`cannot create the embedded PostgreSQL in ${dataDir}: ${reason(ran.output)}${rootHint(as, ran.output)}`);
    writeFileSync(path.join(target, 'postgresql.conf'), `${readFileSync(path.join(target, 'postgresql.conf'), 'utf8')}\ninclude_if_exists = '${SETTINGS_FILE}'\n`);
    writeFileSync(path.join(target, STATE_FILE), `${JSON.stringify(state)}\n`, { mode: 0o600 });
    if (as.uid !== undefined) chownSync(path.join(target, STATE_FILE), as.uid, as.gid ?? as.uid);
    if (pwfile) rmSync(pwfile, { force: true });
    // Atomic: a process that initialised the same folder at the same moment loses the rename and uses the winner's.
    try {
      if (existsSync(dataDir) && readdirSync(dataDir).length === 0) rmSync(dataDir, { recursive: true, force: true });
      renameSync(target, dataDir);
    } catch (err) {
      if (!existsSync(path.join(dataDir, 'PG_VERSION'))) throw err;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * A folder restored from a copy made as root belongs to root, and PostgreSQL only opens a data
 * folder that belongs to the user it runs as: hand it back (root only; the folder is ours).
 */
function claim(dataDir: string, as: ServerUser): void {
  if (as.uid === undefined || statSync(dataDir).uid === as.uid) return;
  const walk = (target: string) => {
    giveTo(as, target);
    if (statSync(target).isDirectory()) for (const name of readdirSync(target)) walk(path.join(target, name));
  };
  walk(dataDir);
  chmodSync(dataDir, 0o700);
}

function readState(dataDir: string): State {
  return JSON.parse(readFileSync(path.join(dataDir, STATE_FILE), 'utf8')) as State;
}

const SERVER_DOWN = new Set(['ENOENT', 'ECONNREFUSED', '57P03', '57P01', 'ECONNRESET']);

/** An error meaning no server (yet, or any more) answers at this address. */
export function isServerDown(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return (typeof code === 'string' && SERVER_DOWN.has(code)) || /Connection terminated/.test((err as Error).message ?? '');
}

export async function openEmbeddedServer(folder: string, options: OpenEmbeddedOptions = {}): Promise<EmbeddedServer> {
  const dataDir = path.resolve(folder);
  const as = serverUser();
  const bins = postgresBinaries();
  await initialise(dataDir, as, options.transport ?? (process.platform === 'win32' ? 'tcp' : 'socket'));
  claim(dataDir, as);
  const state = readState(dataDir);
  const socketDir = socketDirFor(dataDir);
  const host = state.transport === 'tcp' ? '127.0.0.1' : socketDir;
  const base: ClientConfig = {
    host,
    port: state.port,
    user: SUPERUSER,
    ...(state.password ? { password: state.password } : {}),
    application_name: options.applicationName ?? 'qlik-audit',
    connectionTimeoutMillis: 15_000,
  };
  const logFile = path.join(dataDir, 'postgresql.log');
  const { default: pg } = await import('pg');

  async function start(): Promise<void> {
    if (socketDir !== dataDir && !existsSync(socketDir)) {
      mkdirSync(socketDir, { recursive: true, mode: 0o700 });
      giveTo(as, socketDir);
    }
    const conf = path.join(dataDir, SETTINGS_FILE);
    const temporary = `${conf}.${process.pid}.tmp`;
    writeFileSync(temporary, settings(state, socketDir));
    giveTo(as, temporary);
    renameSync(temporary, conf);
    const logged = existsSync(logFile) ? statSync(logFile).size : 0;
    const ran = await run(bins.pgCtl, ['start', '-D', dataDir, '-w', '-t', String(START_TIMEOUT_S), '-s', '-l', logFile], as);
    if (ran.code !== 0) {
      // Another process may have won the race (its server is coming up), or an old one is still stopping: the caller retries.
      const log = existsSync(logFile) ? readFileSync(logFile).subarray(logged).toString('utf8') : ''; // what this start wrote
      const text = `${log}\n${ran.output}`;
      throw new EmbeddedServerError(`cannot start the embedded PostgreSQL in ${dataDir}: ${reason(text)} (its log: ${logFile})${rootHint(as, text)}`);
    }
  }

  async function tryConnect(database: string): Promise<InstanceType<typeof pg.Client>> {
    const client = new pg.Client({ ...base, database });
    client.on('error', () => undefined); // handled where it is used
    try {
      await client.connect();
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
  }

  let starting: Promise<void> | undefined;
  /** Connects to the server, starting it when nothing answers; a server in start-up or shut-down is waited for. */
  function ensureRunning(): Promise<void> {
    return (starting ??= (async () => {
      const deadline = Date.now() + (START_TIMEOUT_S + 30) * 1000;
      let lastError: unknown;
      for (let attempt = 0; Date.now() < deadline; attempt++) {
        try {
          const client = await tryConnect('postgres');
          await client.end();
          return;
        } catch (err) {
          if (!isServerDown(err)) throw err;
          lastError = err;
        }
        try {
          await start();
        } catch (err) {
          // With no postmaster.pid, no other server is starting or stopping here: a failure that
          // repeats (permissions, a broken folder, a port taken) is reported now, not after 90 s.
          if (attempt >= 1 && !existsSync(path.join(dataDir, 'postmaster.pid'))) throw err;
          lastError = err;
          await sleep(Math.min(200 * (attempt + 1), 1000));
        }
      }
      throw lastError instanceof EmbeddedServerError ? lastError : new EmbeddedServerError(`the embedded PostgreSQL in ${dataDir} did not come up within ${START_TIMEOUT_S + 30} s: ${(lastError as Error)?.message ?? 'no answer'} (its log: ${logFile})`);
    })().finally(() => (starting = undefined)));
  }

  // Presence: a shared advisory lock held for as long as this handle is open, taken again after a restart.
  let presence: InstanceType<typeof pg.Client> | undefined;
  let rejoining: Promise<void> | undefined;
  let released = false;
  async function join(): Promise<void> {
    for (;;) {
      await ensureRunning();
      try {
        const client = await tryConnect('postgres');
        await client.query('SELECT pg_advisory_lock_shared($1, $2)', [...PRESENCE_LOCK]); // waits while a leaving process stops the server
        presence = client;
        const lost = () => {
          if (presence !== client) return;
          presence = undefined;
          if (!released) rejoining ??= rejoin().finally(() => (rejoining = undefined));
        };
        client.on('error', lost);
        client.on('end', lost);
        return;
      } catch (err) {
        if (!isServerDown(err)) throw err; // stopped under us by a process that was leaving: start it again
      }
    }
  }
  async function rejoin(): Promise<void> {
    for (let delay = 200; !released; delay = Math.min(delay * 2, 5000)) {
      try {
        await join();
        return;
      } catch {
        await sleep(delay);
      }
    }
  }
  async function leave(): Promise<void> {
    // Twice at most: a presence that is gone — lost, or dead unnoticed (the server was killed and
    // started again by another process) — is taken again on the server that runs, so that leaving can
    // tell whether this was the last user and the last one out still stops it.
    const serverRuns = () => existsSync(path.join(dataDir, 'postmaster.pid'));
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!presence && !(serverRuns() && (await join().then(() => true, () => false)))) return;
      const client = presence as InstanceType<typeof pg.Client>;
      presence = undefined;
      try {
        await client.query('SELECT pg_advisory_unlock_shared($1, $2)', [...PRESENCE_LOCK]);
        const { rows } = await client.query<{ last: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS last', [...PRESENCE_LOCK]);
        if (rows[0]?.last) {
          // The last qlik-audit process on this server: stop it. Newcomers wait on the lock meanwhile and start it again.
          const ran = await run(bins.pgCtl, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', String(START_TIMEOUT_S), '-s'], as);
          if (ran.code !== 0 && !/not running|PID file .* does not exist/i.test(ran.output)) {
            throw new EmbeddedServerError(`could not stop the embedded PostgreSQL in ${dataDir}: ${reason(ran.output)}`);
          }
        }
        return;
      } catch (err) {
        if (err instanceof EmbeddedServerError) throw err; // else the connection was dead: the next attempt joins again
      } finally {
        await client.end().catch(() => undefined);
      }
    }
  }

  await join();
  // The audit database, made once (two processes at once: one wins, the other finds it).
  const admin = presence as InstanceType<typeof pg.Client>;
  const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [EMBEDDED_DATABASE]);
  if (exists.rows.length === 0) {
    await admin.query(`CREATE DATABASE ${EMBEDDED_DATABASE}`).catch((err: { code?: string }) => {
      if (err.code !== '42P04' && err.code !== '23505') throw err;
    });
  }

  return {
    dataDir,
    connection: { ...base, database: EMBEDDED_DATABASE },
    ensureRunning,
    async release() {
      if (released) return;
      released = true;
      await rejoining; // taking the lock again after a restart: then leave as usual
      await leave();
    },
  };
}
