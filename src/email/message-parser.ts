import { Worker } from 'node:worker_threads';
import type { Logger } from '../logger.js';
import type { FileBlobs } from './blob-file.js';
import { parseMessage, type ParsedMessage } from './parse.js';
import type { WorkerRequest, WorkerStorage } from './parse-worker.js';
import { parseWorkerSource, type ParseWorkerSource } from './parse-worker-script.js';
import type { SpooledMail } from './spool.js';

/** The parse could not run (a worker died): not the message's fault, the sender should retry. */
export class ParserUnavailableError extends Error {}

interface Job { file: string; outDir: string; sha256: string; resolve(p: ParsedMessage): void; reject(e: Error): void }

/** Parse workers a message may take down before it is refused as unparseable (5xx) instead of retried (4xx). */
export const WORKER_FAILURES_BEFORE_REFUSAL = 2;
const REMEMBERED_FAILURES = 1000;

interface PoolWorker {
  worker: Worker;
  job: Job | null;
  jobId: number;
  /** Files being stored into GridFS by this worker (any number at once, beside its one parse). */
  stores: Map<number, { resolve(id: string): void; reject(e: Error): void }>;
  /** Stops the worker once it has been idle for idleMs (set while it has nothing to do). */
  idleTimer: NodeJS.Timeout | null;
}

/**
 * Parses messages kept in memory (small) inline, and spooled ones (large) on a small pool of
 * worker threads that read the spool file and write attachments to files: a multi-megabyte message
 * is never parsed on the event loop nor copied between threads. At most `workers` large parses
 * run at once; the rest wait in order. Given a database (`storage`), the same workers also stream
 * those files into GridFS (putFile), so a large message's bytes never reach the main thread.
 */
export class MessageParser implements FileBlobs {
  private readonly pool: PoolWorker[] = [];
  private readonly queue: Job[] = [];
  private closed = false;
  /** How workers are started: found (and, from sources, bundled) once, at the first large parse. */
  private source: ParseWorkerSource | null = null;
  private sourcePending: Promise<void> | null = null;
  /** What was parsed where (observable by tests and /metrics readers; never read for decisions). */
  readonly stats = { inline: 0, onWorker: 0, largestInlineBytes: 0 };
  /**
   * Messages (by content hash) whose parse took a worker down. A worker's death is first taken as
   * not the message's fault (the sender retries); the same bytes taking down a second worker are
   * the message's fault, and retrying them for days would only kill more workers.
   */
  private readonly workerFailures = new Map<string, number>();

  /** How the workers run ('built', 'bundled' or 'tsx'); null before the first large parse. */
  get workerKind(): ParseWorkerSource['kind'] | null {
    return this.source?.kind ?? null;
  }

  private nextId = 1;

  /**
   * `idleMs`: a worker with no parse and no store for this long is terminated (0 = kept for good).
   * An idle worker holds its isolate, heap, mailparser, the driver and a connection pool: tens of
   * MB of RSS that a service receiving large mail now and then does not need between bursts.
   */
  constructor(private readonly workers: number, private readonly logger: Logger, private readonly storage: WorkerStorage | null = null, private readonly idleMs = 0) {}

  /** Whether putFile stores on the workers (else the caller stores on its own connection). */
  get storesOnWorkers(): boolean {
    return this.storage !== null;
  }

  /**
   * Streams a spooled file (a large message, an attachment the worker wrote) into GridFS on a
   * worker's own database connection; answers the stored file's id. A worker that dies meanwhile
   * fails it with ParserUnavailableError (the sender retries).
   */
  putFile(file: string, filename: string, contentType: string, metadata: Record<string, unknown> = {}): Promise<string> {
    if (!this.storage) return Promise.reject(new Error('the mail parser has no database to store files in'));
    if (this.closed) return Promise.reject(new ParserUnavailableError('mail parser stopped'));
    return new Promise<string>((resolve, reject) => {
      this.whenStarted(() => {
        // The least busy worker; a new one only when there is none (stores are I/O: one copes).
        let w = this.pool.slice().sort((a, b) => a.stores.size + (a.job ? 1 : 0) - (b.stores.size + (b.job ? 1 : 0)))[0];
        if (!w) {
          if (this.closed) return reject(new ParserUnavailableError('mail parser stopped'));
          w = this.spawn();
        }
        const id = this.nextId++;
        w.stores.set(id, { resolve, reject });
        this.busyNow(w);
        w.worker.postMessage({ id, op: 'store', file, filename, contentType, metadata } satisfies WorkerRequest);
      }, reject);
    });
  }

  parse(mail: SpooledMail): Promise<ParsedMessage> {
    if (mail.bytes) {
      this.stats.inline++;
      this.stats.largestInlineBytes = Math.max(this.stats.largestInlineBytes, mail.bytes.length);
      return parseMessage(mail.bytes);
    }
    if (!mail.path || !mail.workDir) return Promise.reject(new Error('nothing to parse'));
    this.stats.onWorker++;
    return new Promise<ParsedMessage>((resolve, reject) => {
      this.queue.push({ file: mail.path!, outDir: mail.workDir!, sha256: mail.sha256, resolve, reject });
      this.dispatch();
    });
  }

  /** Large parses running and waiting. */
  get busy(): number {
    return this.queue.length + this.pool.filter((w) => w.job).length;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const j of this.queue.splice(0)) j.reject(new ParserUnavailableError('mail parser stopped'));
    const all = this.pool.splice(0);
    for (const w of all) if (w.idleTimer) clearTimeout(w.idleTimer);
    for (const w of all) for (const s of w.stores.values()) s.reject(new ParserUnavailableError('mail parser stopped'));
    await Promise.all(all.map((w) => w.worker.terminate()));
  }

  /** Runs `then` once the worker's script is known (found, or bundled from sources, once). */
  private whenStarted(then: () => void, failed: (e: Error) => void): void {
    if (this.source) return then();
    this.sourcePending ??= parseWorkerSource(this.logger).then(
      (src) => { this.source = src; },
      (err: Error) => {
        this.sourcePending = null;
        this.logger.error({ err }, 'mail parser worker cannot be started');
        throw new ParserUnavailableError(`mail parser worker cannot be started: ${err.message}`);
      },
    );
    this.sourcePending.then(then, failed);
  }

  private dispatch(): void {
    if (!this.source) {
      this.whenStarted(() => this.dispatch(), (err) => {
        for (const j of this.queue.splice(0)) j.reject(err);
      });
      return;
    }
    while (this.queue.length) {
      let free = this.pool.find((w) => !w.job);
      if (!free && this.pool.length < Math.max(1, this.workers) && !this.closed) free = this.spawn();
      if (!free) return;
      const job = this.queue.shift()!;
      free.job = job;
      free.jobId = this.nextId++;
      this.busyNow(free);
      free.worker.postMessage({ id: free.jobId, op: 'parse', file: job.file, outDir: job.outDir } satisfies WorkerRequest);
    }
  }

  /** A worker got work: keep the process alive for it, and it is not idle any more. */
  private busyNow(w: PoolWorker): void {
    if (w.idleTimer) clearTimeout(w.idleTimer);
    w.idleTimer = null;
    w.worker.ref();
  }

  /** A worker with nothing left to do: let the process exit past it, and stop it after idleMs. */
  private idleNow(w: PoolWorker): void {
    if (w.job || w.stores.size > 0) return;
    w.worker.unref();
    if (this.idleMs <= 0 || w.idleTimer) return;
    w.idleTimer = setTimeout(() => {
      w.idleTimer = null;
      const i = this.pool.indexOf(w);
      if (i < 0 || w.job || w.stores.size > 0) return;
      this.pool.splice(i, 1); // out of the pool first: its exit is not a failure
      void w.worker.terminate();
    }, this.idleMs);
    w.idleTimer.unref();
  }

  private spawn(): PoolWorker {
    const src = this.source!;
    const workerData = { storage: this.storage };
    const worker = src.kind === 'tsx' ? new Worker(src.evalSource, { eval: true, workerData }) : new Worker(src.file, { workerData });
    const entry: PoolWorker = { worker, job: null, jobId: 0, stores: new Map(), idleTimer: null };
    worker.unref();
    const idle = () => this.idleNow(entry);
    worker.on('message', (msg: { id: number; parsed?: ParsedMessage; stored?: string; error?: string }) => {
      const store = entry.stores.get(msg.id);
      if (store) {
        entry.stores.delete(msg.id);
        idle();
        if (msg.error !== undefined) store.reject(new Error(msg.error));
        else store.resolve(msg.stored!);
        return;
      }
      const job = entry.job;
      if (!job || msg.id !== entry.jobId) return;
      entry.job = null;
      idle();
      if (msg.error !== undefined) job.reject(new Error(msg.error));
      else job.resolve(msg.parsed!);
      this.dispatch();
    });
    const fail = (err: Error) => {
      const i = this.pool.indexOf(entry);
      if (i < 0) return; // terminated by close()
      this.pool.splice(i, 1);
      this.logger.error({ err }, 'mail parser worker failed');
      for (const s of entry.stores.values()) s.reject(new ParserUnavailableError(`mail parser worker failed while storing: ${err.message}`));
      entry.stores.clear();
      const job = entry.job;
      entry.job = null;
      if (job) {
        const failures = (this.workerFailures.get(job.sha256) ?? 0) + 1;
        this.workerFailures.delete(job.sha256);
        this.workerFailures.set(job.sha256, failures);
        if (this.workerFailures.size > REMEMBERED_FAILURES) this.workerFailures.delete(this.workerFailures.keys().next().value!);
        job.reject(failures >= WORKER_FAILURES_BEFORE_REFUSAL
          ? new Error(`the message took down the mail parser ${failures} times (${err.message})`)
          : new ParserUnavailableError(`mail parser worker failed: ${err.message}`));
      }
      this.dispatch();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exited with ${code}`)));
    this.pool.push(entry);
    return entry;
  }
}
