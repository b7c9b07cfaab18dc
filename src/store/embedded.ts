import { spawn, spawnSync, execFile, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/*
 * The embedded database: a private PostgreSQL 15 cluster with the DocumentDB extension, reached
 * only through a Unix socket, and FerretDB 2 in front of it on a loopback port (MongoDB wire
 * protocol). scripts/install-embedded-db.sh builds and installs both; this file starts, watches
 * and stops them. Why each setting: docs/mongodb-compat.md and the research note it cites.
 */

const execFileAsync = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
/** scripts/ sits at the package root, both from src/store (tsx, jest) and dist/store (built). */
const scriptsDir = path.resolve(here, '../../scripts');

export class EmbeddedDatabaseError extends Error {
  readonly code = 'EMBEDDED_DB_UNAVAILABLE';
}

export interface EngineInstall {
  ferretdbBin: string;
  pgBinDir: string;
  /** Per-version cache folder (holds the template cluster). */
  cacheDir: string;
}

let installed: Promise<EngineInstall> | null = null;

/**
 * Runs the install script (cached: a warm run only checks the installed files) and returns where
 * the binaries are. Exit code 3 means a root step is needed; the script printed the commands.
 */
export function ensureEmbeddedEngine(): Promise<EngineInstall> {
  installed ??= (async () => {
    try {
      const { stdout } = await execFileAsync('bash', [path.join(scriptsDir, 'install-embedded-db.sh')], {
        maxBuffer: 1 << 22, timeout: 30 * 60_000,
      });
      const vars = Object.fromEntries(stdout.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      if (!vars.FERRETDB_BIN || !vars.PG_BINDIR || !vars.ENGINE_CACHE_DIR) throw new Error(`unexpected output: ${stdout}`);
      return { ferretdbBin: vars.FERRETDB_BIN, pgBinDir: vars.PG_BINDIR, cacheDir: vars.ENGINE_CACHE_DIR };
    } catch (err) {
      installed = null;
      const e = err as { code?: number; stderr?: string; message: string };
      const detail = (e.stderr || e.message).trim().split('\n').slice(-12).join('\n');
      throw new EmbeddedDatabaseError(
        e.code === 3
          ? `deskbridge: the embedded database is not installed yet and needs root for one step:\n${detail}`
          : `deskbridge: could not install the embedded database (or set MONGODB_URI to a MongoDB server):\n${detail}`,
      );
    }
  })();
  return installed;
}

/** The FerretDB 1 binary (SQLite backend), built on demand: only `deskbridge db migrate` needs it. */
export async function ensureLegacyFerretDbBinary(): Promise<string> {
  try {
    const { stdout } = await execFileAsync('bash', [path.join(scriptsDir, 'ensure-ferretdb.sh')], { maxBuffer: 1 << 20, timeout: 15 * 60_000 });
    const bin = stdout.trim().split('\n').pop();
    if (!bin) throw new Error('no path printed');
    return bin;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new EmbeddedDatabaseError(`deskbridge: could not build FerretDB 1 to read the old database: ${(e.stderr || e.message).trim()}`);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ port, host: '127.0.0.1' });
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type Component = 'postgres' | 'ferretdb';

export interface EmbeddedDatabase {
  uri: string;
  port: number;
  dataDir: string;
  /** The current FerretDB process (replaced when the supervisor restarts it). */
  readonly process: ChildProcess;
  /** The current PostgreSQL postmaster (replaced when the supervisor restarts it). */
  readonly postgres: ChildProcess;
  /** 'down' (component, code, signal), 'restarted' (component, ms), 'restart-failed' (component, error). */
  readonly events: EventEmitter;
  /** Milliseconds per start step (install check, new cluster, postgres, extension, ferretdb). */
  readonly startTimings: Record<string, number>;
  stop(): Promise<void>;
}

export interface StartOptions {
  dataDir: string;
  port?: number;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Every log line of both servers, prefixed with [postgres] / [ferretdb]. */
  onLog?: (line: string) => void;
  /** Restart a crashed PostgreSQL or FerretDB (default true). */
  supervise?: boolean;
  /** Only for `deskbridge db migrate`: start although DATA_DIR still holds the old SQLite files. */
  allowLegacyFiles?: boolean;
}

/*
 * While the supervisor restarts a component (and for a short while after, as FerretDB's pool
 * reconnects) FerretDB answers with InternalError whatever PostgreSQL or the Go network stack said.
 * Knowing that the database is recovering lets the error mapper answer 503 without having to
 * recognise every wording.
 */
const RECOVERY_GRACE_MS = 15_000;
let recovering = 0;
let recoveredAt = 0;
export function embeddedDatabaseRecovering(now = Date.now()): boolean {
  return recovering > 0 || now - recoveredAt < RECOVERY_GRACE_MS;
}

/** Turns the supervisor's events into log lines (the service's logger, or stderr for `deskbridge db`). */
export function reportEmbeddedEvents(db: EmbeddedDatabase, log: (line: string, level: 'warn' | 'error' | 'info') => void): void {
  const tails = new Map<Component, string>();
  const down = new Set<Component>();
  db.events.on('down', (component: Component, code: number | null, signal: string | null) => {
    down.add(component);
    recovering = down.size;
    log(`embedded database: ${component} exited unexpectedly (code ${code}, signal ${signal}); restarting it`, 'error');
  });
  db.events.on('restart-failed', (component: Component, err: Error) => {
    const first = err.message.split('\n')[0];
    if (tails.get(component) !== first) log(`embedded database: ${component} restart failed, retrying: ${first}`, 'warn');
    tails.set(component, first);
  });
  db.events.on('restarted', (component: Component, ms: number) => {
    tails.delete(component);
    down.delete(component);
    recovering = down.size;
    recoveredAt = Date.now();
    log(`embedded database: ${component} restarted after ${ms} ms`, 'info');
  });
}

/** Old FerretDB 1 files in this data folder that `deskbridge db migrate` has not moved yet. */
export function legacySqliteFiles(dataDir: string): string[] {
  const dir = path.join(path.resolve(dataDir), 'sqlite');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.sqlite')).map((f) => path.join(dir, f));
}

interface RunAs { uid: number; gid: number; user: string }

/** PostgreSQL refuses to run as root: then it runs as the system user postgres (created if missing). */
function serverUser(): RunAs | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  if (id('-u').status !== 0) {
    const made = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/var/lib/postgresql', '--shell', '/usr/sbin/nologin', 'postgres'], { encoding: 'utf8' });
    if (made.status !== 0) throw new EmbeddedDatabaseError(`deskbridge: PostgreSQL cannot run as root and the user postgres could not be created: ${made.stderr.trim()}`);
  }
  return { uid: Number(id('-u').stdout.trim()), gid: Number(id('-g').stdout.trim()), user: 'postgres' };
}

/** Every parent of `dir` must be enterable by the server user, or PostgreSQL cannot open its files. */
function checkReachable(dir: string, as: RunAs): void {
  const probe = spawnSync('/bin/sh', ['-c', 'cd "$1"', 'sh', dir], { uid: as.uid, gid: as.gid, encoding: 'utf8' });
  if (probe.status === 0) return;
  let blocked = dir;
  for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) {
    if (spawnSync('/bin/sh', ['-c', 'cd "$1"', 'sh', d], { uid: as.uid, gid: as.gid }).status !== 0) blocked = d;
  }
  throw new EmbeddedDatabaseError(
    `deskbridge: running as root, the embedded PostgreSQL runs as the user ${as.user}, which cannot enter ${blocked} ` +
    `(a parent of ${dir}). Set DATA_DIR to a folder it can reach (e.g. /var/lib/deskbridge), or allow it: chmod o+x ${blocked}`,
  );
}

/** Unix socket paths are limited to 107 bytes; long data paths get a private folder in /tmp. */
function socketDir(dataDir: string, as: RunAs | null): { dir: string; temporary: boolean } {
  const preferred = path.join(dataDir, 'run');
  if (Buffer.byteLength(path.join(preferred, '.s.PGSQL.5432.lock')) <= 100) {
    mkdirSync(preferred, { recursive: true, mode: 0o700 });
    return { dir: preferred, temporary: false };
  }
  const dir = mkdtempSync(path.join(os.tmpdir().length < 40 ? os.tmpdir() : '/tmp', 'deskbridge-pg-'));
  if (as) chownSync(dir, as.uid, as.gid);
  return { dir, temporary: true };
}

function spawnAs(bin: string, args: string[], as: RunAs | null, deathSignal: string): ChildProcess {
  // setpriv: the server dies with this process even on kill -9 (no orphan holding the data
  // folder or the port), and drops root to the server user without an extra process in between.
  const pre = ['--pdeathsig', deathSignal];
  if (as) pre.unshift(`--reuid=${as.uid}`, `--regid=${as.gid}`, '--init-groups');
  return spawn('setpriv', [...pre, '--', bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

function runAs(bin: string, args: string[], as: RunAs | null): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(as ? { uid: as.uid, gid: as.gid } : {}) });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, out }));
  });
}

function stopChild(child: ChildProcess | null, signal: NodeJS.Signals, forceAfterMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), forceAfterMs);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    child.kill(signal);
  });
}

function chownTree(dir: string, as: RunAs): void {
  chownSync(dir, as.uid, as.gid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p, as);
    else chownSync(p, as.uid, as.gid);
  }
}

/** The settings DocumentDB needs, passed on the command line at every start (the socket folder may change). */
function postgresArgs(pgDir: string, sock: string, user: string): string[] {
  const settings: Record<string, string> = {
    listen_addresses: '',
    unix_socket_directories: sock,
    unix_socket_permissions: '0700',
    shared_preload_libraries: 'pg_cron,pg_documentdb_core,pg_documentdb',
    'cron.database_name': 'postgres',
    // DocumentDB (index builds, background worker) and pg_cron connect back through libpq; with no
    // TCP port that must be the socket.
    'cron.host': sock,
    'documentdb.localhost_connection_string': `host=${sock} user=${user}`,
    // Without it a lookup by a unique field does a Seq Scan at 100k documents (193 ms vs 0.8 ms).
    'documentdb.enableNewSelectivityMode': 'on',
    // A small VM: modest memory, few connections (FerretDB pools them).
    shared_buffers: '128MB',
    work_mem: '8MB',
    maintenance_work_mem: '64MB',
    effective_cache_size: '512MB',
    max_connections: '60',
    max_wal_size: '512MB',
    logging_collector: 'off',
    log_min_messages: 'warning',
    log_checkpoints: 'off',
  };
  return ['-D', pgDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
}

/**
 * Starts PostgreSQL (initdb on first use) and FerretDB, resolves once FerretDB accepts
 * connections. While running, a crashed server is restarted (backoff 0.5 s doubling to 15 s);
 * the service's /healthz answers 503 meanwhile because its ping fails.
 */
export async function startEmbeddedDatabase(opts: StartOptions): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(opts.dataDir);
  const timings: Record<string, number> = {};
  let lap = Date.now();
  const mark = (name: string) => { const now = Date.now(); timings[name] = now - lap; lap = now; };
  const legacy = legacySqliteFiles(dataDir);
  if (legacy.length && !opts.allowLegacyFiles) {
    throw new EmbeddedDatabaseError(
      `deskbridge: ${path.join(dataDir, 'sqlite')} holds a database of the old embedded engine (FerretDB 1/SQLite). ` +
      'Copy it into the new engine first: deskbridge db migrate (npm run db -- migrate); the old files are kept.',
    );
  }
  const engine = await ensureEmbeddedEngine();
  mark('install');
  const as = serverUser();
  const pgDir = path.join(dataDir, 'pg');
  mkdirSync(dataDir, { recursive: true });
  if (as) {
    // The server user only needs to pass through our own folder (x, not r); its parents are checked.
    chmodSync(dataDir, statSync(dataDir).mode | 0o001);
    mkdirSync(pgDir, { recursive: true, mode: 0o700 });
    chownSync(pgDir, as.uid, as.gid);
    checkReachable(pgDir, as);
  }
  const user = as?.user ?? os.userInfo().username;
  const bin = (name: string) => path.join(engine.pgBinDir, name);
  const tail: string[] = [];
  const log = (line: string) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
    opts.onLog?.(line);
  };
  const pipeLog = (child: ChildProcess, prefix: string) => {
    const onData = (buf: Buffer) => { for (const line of buf.toString().split('\n')) if (line.trim()) log(`[${prefix}] ${line}`); };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
  };

  // A new cluster is a copy of a template (initdb + CREATE EXTENSION done once per machine and
  // version, ~0.3 s to copy instead of 2-5 s); the first one is made here and then saved.
  const template = path.join(engine.cacheDir, `template-cluster-${user}`);
  let saveTemplate = false;
  if (!existsSync(path.join(pgDir, 'PG_VERSION'))) {
    rmSync(pgDir, { recursive: true, force: true });
    if (existsSync(path.join(template, 'PG_VERSION'))) {
      cpSync(template, pgDir, { recursive: true, preserveTimestamps: true });
      if (as) chownTree(pgDir, as);
      chmodSync(pgDir, 0o700);
    } else {
      mkdirSync(pgDir, { recursive: true, mode: 0o700 });
      if (as) chownSync(pgDir, as.uid, as.gid);
      // trust on the socket only: the socket folder is private (0700) to the server user.
      // --no-sync: fsyncing initdb's ~1000 files costs seconds; an empty cluster lost to a power
      // cut in its first seconds holds nothing, and PostgreSQL fsyncs the folder on crash recovery.
      const init = await runAs(bin('initdb'), ['-D', pgDir, '-U', user, '--auth=trust', '--encoding=UTF8', '--no-locale', '--no-instructions', '--no-sync'], as);
      if (init.code !== 0) throw new EmbeddedDatabaseError(`deskbridge: initdb failed for ${pgDir}:\n${init.out.trim()}`);
      saveTemplate = true;
    }
  }
  mark('cluster');
  const sock = socketDir(dataDir, as);
  if (as && !sock.temporary) chownSync(sock.dir, as.uid, as.gid);
  if (!sock.temporary) chmodSync(sock.dir, 0o700);
  const port = opts.port ?? (await freePort());
  const events = new EventEmitter();
  const state = { stopping: false, pg: null as ChildProcess | null, fdb: null as ChildProcess | null };

  const pgPidFile = path.join(pgDir, 'postmaster.pid');
  const pgReady = () => {
    try {
      // Line 8 of postmaster.pid is the server status; "ready" once it accepts connections.
      return readFileSync(pgPidFile, 'utf8').split('\n')[7]?.trim() === 'ready';
    } catch { return false; }
  };

  const startPostgres = async (): Promise<ChildProcess> => {
    const child = spawnAs(bin('postgres'), postgresArgs(pgDir, sock.dir, user), as, 'SIGINT');
    pipeLog(child, 'postgres');
    let exited: string | null = null;
    child.once('exit', (code, signal) => { exited = `code ${code}, signal ${signal}`; });
    const deadline = Date.now() + 60_000;
    while (!(pgReady() && child.pid && readFileSync(pgPidFile, 'utf8').startsWith(`${child.pid}\n`))) {
      if (exited) throw new EmbeddedDatabaseError(`PostgreSQL exited at start (${exited}):\n${tail.join('\n')}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new EmbeddedDatabaseError(`PostgreSQL was not ready within 60 s:\n${tail.join('\n')}`);
      }
      await sleep(25);
    }
    return child;
  };

  const createExtension = async () => {
    const r = await runAs(bin('psql'), ['-h', sock.dir, '-U', user, '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-qAt',
      '-c', 'SET client_min_messages = warning', '-c', 'CREATE EXTENSION IF NOT EXISTS documentdb CASCADE'], as);
    if (r.code !== 0) throw new EmbeddedDatabaseError(`deskbridge: CREATE EXTENSION documentdb failed:\n${r.out.trim()}`);
  };

  const startFerretDb = async (): Promise<ChildProcess> => {
    const child = spawnAs(engine.ferretdbBin, [
      `--listen-addr=127.0.0.1:${port}`,
      `--postgresql-url=postgres://${encodeURIComponent(user)}@/postgres?host=${encodeURIComponent(sock.dir)}`,
      `--state-dir=${path.join(dataDir, 'ferretdb')}`,
      // Loopback only, as the SQLite engine before it; credentials would go in MONGODB_URI otherwise.
      '--no-auth',
      '--telemetry=disable',
      '--debug-addr=-',
      `--log-level=${(opts.logLevel ?? 'warn').toUpperCase()}`,
    ], null, 'SIGKILL');
    pipeLog(child, 'ferretdb');
    let exited: string | null = null;
    child.once('exit', (code, signal) => { exited = `code ${code}, signal ${signal}`; });
    const deadline = Date.now() + 30_000;
    while (!(await canConnect(port))) {
      if (exited) throw new EmbeddedDatabaseError(`FerretDB exited at start (${exited}):\n${tail.join('\n')}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new EmbeddedDatabaseError(`FerretDB did not listen on 127.0.0.1:${port} within 30 s:\n${tail.join('\n')}`);
      }
      await sleep(25);
    }
    return child;
  };

  /** The supervisor: restart the component that died, with backoff, until stop(). */
  const watch = (component: Component, child: ChildProcess) => {
    child.once('exit', (code, signal) => {
      if (state.stopping) return;
      events.emit('down', component, code, signal);
      if (opts.supervise === false) return;
      void (async () => {
        const t0 = Date.now();
        for (let delay = 500; !state.stopping; delay = Math.min(delay * 2, 15_000)) {
          try {
            if (component === 'postgres') {
              const next = await startPostgres();
              if (state.stopping) { next.kill('SIGINT'); return; }
              state.pg = next;
              watch('postgres', next);
            } else {
              const next = await startFerretDb();
              if (state.stopping) { next.kill('SIGKILL'); return; }
              state.fdb = next;
              watch('ferretdb', next);
            }
            events.emit('restarted', component, Date.now() - t0);
            return;
          } catch (err) {
            // After kill -9 of the postmaster its backends linger for a moment and PostgreSQL
            // refuses to start on their shared memory; the next attempt gets through.
            events.emit('restart-failed', component, err);
            await sleep(delay);
          }
        }
      })();
    });
  };

  const killOnExit = () => {
    state.fdb?.kill('SIGKILL');
    state.pg?.kill('SIGQUIT');
  };
  process.once('exit', killOnExit);
  try {
    state.pg = await startPostgres();
    mark('postgres');
    await createExtension();
    mark('extension');
    if (saveTemplate) {
      // Stop cleanly so the copy is consistent, keep it, start again (once per machine).
      await stopChild(state.pg, 'SIGINT', 15_000);
      const tmp = `${template}.tmp-${process.pid}`;
      try {
        cpSync(pgDir, tmp, { recursive: true, preserveTimestamps: true, filter: (src) => path.basename(src) !== 'postmaster.pid' });
        renameSync(tmp, template);
      } catch {
        rmSync(tmp, { recursive: true, force: true }); // another start saved it first, or no space: not needed to run
      }
      state.pg = await startPostgres();
    }
    state.fdb = await startFerretDb();
    mark('ferretdb');
  } catch (err) {
    killOnExit();
    process.removeListener('exit', killOnExit);
    throw err;
  }
  watch('postgres', state.pg);
  watch('ferretdb', state.fdb);

  return {
    uri: `mongodb://127.0.0.1:${port}/`,
    port,
    dataDir,
    get process() { return state.fdb!; },
    get postgres() { return state.pg!; },
    events,
    startTimings: timings,
    async stop() {
      state.stopping = true;
      process.removeListener('exit', killOnExit);
      await stopChild(state.fdb, 'SIGTERM', 5000);
      // SIGINT is PostgreSQL's "fast" shutdown: ends sessions, writes a checkpoint, exits.
      await stopChild(state.pg, 'SIGINT', 15_000);
      if (sock.temporary) rmSync(sock.dir, { recursive: true, force: true });
    },
  };
}
