import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/store/embedded.js';

/*
 * The real service as a separate process (`node --import tsx src/cli.ts serve`), for the
 * benchmark harness and the fault tests: it can be measured (/proc/<pid>), killed with -9 and
 * restarted on the same database, which an in-process app cannot.
 */

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SERVICE_TOKEN = 'bench-token-0123456789abcdef';
/** Node flags the service runs with in production (bin/deskbridge.js, the Dockerfile's CMD, `npm start`). */
export const SERVICE_NODE_FLAGS = ['--max-semi-space-size=4'];

export interface ApiResult {
  status: number;
  body: any;
  headers: Headers;
  ms: number;
}

export interface ServiceProcess {
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** Last lines the service wrote (for failure messages). */
  logTail(): string;
  /** The service's "unhandled error" log lines (the ones behind a 500), kept apart from the tail. */
  unhandledErrors(): string[];
  /** JSON API call with the bearer token; rejects on network errors and after `timeoutMs`. */
  api(method: string, pathAndQuery: string, body?: unknown, opts?: { timeoutMs?: number; raw?: boolean }): Promise<ApiResult>;
  alive(): boolean;
  kill9(): Promise<void>;
  /** SIGTERM and wait for a clean exit. */
  stop(): Promise<number | null>;
}

export interface StartServiceOptions {
  /** Environment for the service (MONGODB_URI, DATA_DIR, tuning...). PORT and the token are set here. */
  env: Record<string, string>;
  port?: number;
  readyTimeoutMs?: number;
}

export async function startServiceProcess(opts: StartServiceOptions): Promise<ServiceProcess> {
  const port = opts.port ?? (await freePort());
  // BENCH_SERVICE_NODE_ARGS: extra node flags for the service only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
  // (NODE_OPTIONS refuses --cpu-prof, and would profile every node process of the run).
  const nodeArgs = (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  // BENCH_SERVICE_BUILT=1: the compiled service (dist/, as the production image runs it; `npm run build`
  // first) instead of TypeScript sources through tsx, which cost the process ~60–90 MB of RSS more.
  const entry = process.env.BENCH_SERVICE_BUILT === '1' ? [path.join(repoRoot, 'dist/cli.js')] : ['--import', 'tsx', path.join(repoRoot, 'src/cli.ts')];
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, ...nodeArgs, ...entry, 'serve'], {
    cwd: repoRoot,
    env: {
      ...process.env, MONGODB_URI: '', LOG_LEVEL: 'warn', NODE_ENV: 'production',
      // A free port for inbound SMTP unless the caller names one: the default 2525 may be taken by
      // another service on this machine (a fault test once died at start with EADDRINUSE).
      INBOUND_SMTP_PORT: '0',
      ...opts.env, PORT: String(port), HOST: '127.0.0.1', DESKBRIDGE_API_TOKEN: SERVICE_TOKEN,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  const unhandled: string[] = [];
  const keep = (buf: Buffer) => {
    for (const line of buf.toString().split('\n')) {
      if (!line) continue;
      tail.push(line.slice(0, 2000));
      if (line.includes('"msg":"unhandled error"') && unhandled.length < 20) unhandled.push(line.slice(0, 4000));
    }
    if (tail.length > 40) tail.splice(0, tail.length - 40);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;

  const svc: ServiceProcess = {
    url, port, pid: child.pid!, child,
    logTail: () => tail.join('\n'),
    unhandledErrors: () => [...unhandled],
    alive: () => child.exitCode === null && child.signalCode === null,
    async api(method, p, body, o = {}) {
      const started = performance.now();
      const res = await fetch(`${url}/api/v1${p}`, {
        method,
        headers: { authorization: `Bearer ${SERVICE_TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : o.raw || typeof body === 'string' ? (body as string) : JSON.stringify(body),
        signal: AbortSignal.timeout(o.timeoutMs ?? 30_000),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try { parsed = text ? JSON.parse(text) : null; } catch { /* keep the text */ }
      return { status: res.status, body: parsed, headers: res.headers, ms: performance.now() - started };
    },
    async kill9() {
      if (!svc.alive()) return;
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (!svc.alive()) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (!svc.alive()) throw new Error(`the service exited at start:\n${svc.logTail()}`);
    const status = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(3000) }).then((r) => r.status, () => 0);
    if (status === 200) return svc;
    if (Date.now() > deadline) {
      await svc.kill9();
      throw new Error(`the service did not become healthy within ${opts.readyTimeoutMs ?? 60_000} ms:\n${svc.logTail()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every `everyMs` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}
