import { Worker } from 'node:worker_threads';
import type { Logger } from '../logger.js';
import { parseMessage, type ParsedMessage } from './parse.js';
import { parseWorkerSource, type ParseWorkerSource } from './parse-worker-script.js';
import type { SpooledMail } from './spool.js';

/** The parse could not run (a worker died): not the message's fault, the sender should retry. */
export class ParserUnavailableError extends Error {}

interface Job { file: string; outDir: string; sha256: string; resolve(p: ParsedMessage): void; reject(e: Error): void }

/** Parse workers a message may take down before it is refused as unparseable (5xx) instead of retried (4xx). */
export const WORKER_FAILURES_BEFORE_REFUSAL = 2;
const REMEMBERED_FAILURES = 1000;

interface PoolWorker { worker: Worker; job: Job | null }

/**
 * Parses messages kept in memory (small) inline, and spooled ones (large) on a small pool of
 * worker threads that read the spool file and write attachments to files: a multi-megabyte message
 * is never parsed on the event loop nor copied between threads. At most `workers` large parses
 * run at once; the rest wait in order.
 */
export class MessageParser {
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

  constructor(private readonly workers: number, private readonly logger: Logger) {}

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
    await Promise.all(all.map((w) => w.worker.terminate()));
  }

  private dispatch(): void {
    if (!this.source) {
      this.sourcePending ??= parseWorkerSource(this.logger).then(
        (src) => { this.source = src; this.dispatch(); },
        (err: Error) => {
          this.sourcePending = null;
          this.logger.error({ err }, 'mail parser worker cannot be started');
          for (const j of this.queue.splice(0)) j.reject(new ParserUnavailableError(`mail parser worker cannot be started: ${err.message}`));
        },
      );
      return;
    }
    while (this.queue.length) {
      let free = this.pool.find((w) => !w.job);
      if (!free && this.pool.length < Math.max(1, this.workers) && !this.closed) free = this.spawn();
      if (!free) return;
      const job = this.queue.shift()!;
      free.job = job;
      free.worker.ref();
      free.worker.postMessage({ file: job.file, outDir: job.outDir });
    }
  }

  private spawn(): PoolWorker {
    const src = this.source!;
    const worker = src.kind === 'tsx' ? new Worker(src.evalSource, { eval: true }) : new Worker(src.file);
    const entry: PoolWorker = { worker, job: null };
    worker.unref();
    worker.on('message', (msg: { parsed?: ParsedMessage; error?: string }) => {
      const job = entry.job;
      entry.job = null;
      worker.unref();
      if (job) {
        if (msg.error !== undefined) job.reject(new Error(msg.error));
        else job.resolve(msg.parsed!);
      }
      this.dispatch();
    });
    const fail = (err: Error) => {
      const i = this.pool.indexOf(entry);
      if (i < 0) return; // terminated by close()
      this.pool.splice(i, 1);
      this.logger.error({ err }, 'mail parser worker failed');
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
