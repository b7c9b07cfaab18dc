import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../logger.js';
import { parseMessage, type ParsedMessage } from './parse.js';

/**
 * Parses small messages inline and large ones on a worker thread, so a multi-megabyte message
 * does not block the event loop (HTTP, Slack and Teams keep answering while mail is imported).
 */
export class MessageParser {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(p: ParsedMessage): void; reject(e: Error): void }>();

  constructor(private readonly workerFromBytes: number, private readonly logger: Logger) {}

  parse(raw: Buffer): Promise<ParsedMessage> {
    if (this.workerFromBytes <= 0 || raw.length < this.workerFromBytes) return parseMessage(raw);
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<ParsedMessage>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, raw });
    }).then((p) => {
      for (const a of p.attachments) a.content = Buffer.from(a.content.buffer, a.content.byteOffset, a.content.byteLength);
      return p;
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    // From TypeScript sources (development, tests) the worker needs the tsx loader; built code does not.
    const fromSource = import.meta.url.endsWith('.ts');
    const worker = fromSource
      ? new Worker(
        `import(${JSON.stringify(pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href)})`
        + `.then((m) => m.tsImport(${JSON.stringify(new URL('./parse-worker.ts', import.meta.url).href)}, ${JSON.stringify(import.meta.url)}))`,
        { eval: true },
      )
      : new Worker(new URL('./parse-worker.js', import.meta.url));
    worker.unref();
    worker.on('message', (msg: { id: number; parsed?: ParsedMessage; error?: string }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (this.pending.size === 0) worker.unref();
      if (msg.error !== undefined) p.reject(new Error(msg.error));
      else p.resolve(msg.parsed!);
    });
    const fail = (err: Error) => {
      if (this.worker !== worker && this.pending.size === 0) return; // terminated by close()
      this.logger.error({ err }, 'mail parser worker failed');
      if (this.worker === worker) this.worker = null;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => { if (code !== 0) fail(new Error(`mail parser worker exited with ${code}`)); else if (this.worker === worker) this.worker = null; });
    this.worker = worker;
    return worker;
  }
}
