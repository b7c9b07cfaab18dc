import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
/** scripts/ sits at the package root, both from src/store (tsx, jest) and dist/store (built). */
const ensureScript = path.resolve(here, '../../scripts/ensure-ferretdb.sh');

export class EmbeddedDatabaseError extends Error {
  readonly code = 'EMBEDDED_DB_UNAVAILABLE';
}

/** Returns the FerretDB binary, building it once (cached under ~/.cache/deskbridge) when missing. */
export async function ensureFerretDbBinary(): Promise<string> {
  try {
    const { stdout } = await execFileAsync('bash', [ensureScript], { maxBuffer: 1 << 20, timeout: 15 * 60_000 });
    const bin = stdout.trim().split('\n').pop();
    if (!bin) throw new Error('no path printed');
    return bin;
  } catch (err) {
    const e = err as { code?: number; stderr?: string; message: string };
    if (e.code === 127) {
      throw new EmbeddedDatabaseError(
        'deskbridge: the embedded database needs Go to build FerretDB: install Go or set MONGODB_URI to a MongoDB server',
      );
    }
    throw new EmbeddedDatabaseError(`deskbridge: could not install FerretDB: ${(e.stderr || e.message).trim()}`);
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

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ port, host: '127.0.0.1' });
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}

export interface EmbeddedDatabase {
  uri: string;
  port: number;
  dataDir: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface StartOptions {
  dataDir: string;
  port?: number;
  /** Where FerretDB's own log goes; default: discarded except for the last lines on failure. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  onLog?: (line: string) => void;
}

/**
 * Starts FerretDB (SQLite backend, telemetry off, loopback only) and resolves once it accepts
 * connections. The child is killed when this process exits.
 */
export async function startEmbeddedDatabase(opts: StartOptions): Promise<EmbeddedDatabase> {
  const bin = await ensureFerretDbBinary();
  const dataDir = path.resolve(opts.dataDir);
  const sqliteDir = path.join(dataDir, 'sqlite');
  mkdirSync(sqliteDir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const child = spawn(
    bin,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${sqliteDir}/`,
      `--listen-addr=127.0.0.1:${port}`,
      `--state-dir=${dataDir}`,
      '--telemetry=disable',
      '--debug-addr=-',
      `--log-level=${(opts.logLevel ?? 'warn').toUpperCase()}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const tail: string[] = [];
  const onData = (buf: Buffer) => {
    for (const line of buf.toString().split('\n')) {
      if (!line) continue;
      tail.push(line);
      if (tail.length > 20) tail.shift();
      opts.onLog?.(line);
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let exited: number | null = null;
  child.once('exit', (code) => { exited = code ?? -1; });
  const deadline = Date.now() + 30_000;
  while (!(await canConnect(port))) {
    if (exited !== null) {
      throw new EmbeddedDatabaseError(`FerretDB exited with code ${exited} at start:\n${tail.join('\n')}`);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new EmbeddedDatabaseError(`FerretDB did not listen on 127.0.0.1:${port} within 30 s:\n${tail.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    uri: `mongodb://127.0.0.1:${port}/`,
    port,
    dataDir,
    process: child,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => { clearTimeout(timer); resolve(); });
        child.kill('SIGTERM');
      });
    },
  };
}
