import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';

/**
 * An inbound message as received: small ones in memory, large ones only in a spool file (never
 * whole in memory), with its size and SHA-256 taken while it streamed in. Its work folder (spool
 * file and the attachments the parse worker writes) is removed by dispose(), whatever happened.
 */
export interface SpooledMail {
  size: number;
  sha256: string;
  /** The first bytes (up to 256 KB): the header section, for the too-large notice. */
  head: Buffer;
  /** The whole message, when it is small enough to be kept in memory. */
  bytes: Buffer | null;
  /** The message on disk, when it is not (a spool file, or the pipe command's own input file). */
  path: string | null;
  /** Folder for this message's temporary files (attachments written by the parse worker). */
  workDir: string | null;
  /** More than the size limit arrived: only `head` was kept, nothing is on disk. */
  oversize: boolean;
  dispose(): Promise<void>;
}

const HEAD_BYTES = 256 * 1024;

/** Raised while spooling when the large-message capacity is taken: the sender should retry (4xx). */
export class SpoolBusyError extends Error {
  constructor() { super('too many large messages in progress'); }
}

/**
 * Spools inbound messages. Messages below `spillBytes` stay in memory (parsed inline: cheap);
 * from `spillBytes` up they go to a file under `dir` while they arrive. Past `maxBytes` nothing
 * more is kept.
 */
export class MailSpool {
  constructor(readonly dir: string, readonly spillBytes: number, readonly maxBytes: number) {}

  /**
   * Creates the folder and removes what processes that are gone left behind (never acknowledged:
   * their senders retry). Folders of live processes (another service or test on this host) stay.
   */
  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const name of await readdir(this.dir)) {
      const pid = Number(/^in-(\d+)-/.exec(name)?.[1]);
      if (pid && pid !== process.pid && !alive(pid)) await rm(path.join(this.dir, name), { recursive: true, force: true });
    }
  }

  /** Whether a message of this size goes to disk and to the parse worker. */
  spills(size: number): boolean {
    return this.spillBytes > 0 && size >= this.spillBytes;
  }

  async newWorkDir(): Promise<string> {
    const dir = path.join(this.dir, `in-${process.pid}-${randomUUID().slice(0, 8)}`);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /**
   * Reads a stream to its end. `onSpill` is asked once, when the message turns out to be large,
   * for a place in the large-message capacity; when it throws (SpoolBusyError), the rest is read
   * and dropped and that error is raised at the end (so an SMTP session stays in sync).
   */
  async fromStream(input: Readable, onSpill?: () => void): Promise<SpooledMail> {
    const hash = createHash('sha256');
    const chunks: Buffer[] = [];
    let head = Buffer.alloc(0);
    let size = 0;
    let file: WriteStream | null = null;
    let workDir: string | null = null;
    let refused: Error | null = null;
    let fileError: Error | null = null;
    const keepHead = (c: Buffer) => { if (head.length < HEAD_BYTES) head = Buffer.concat([head, c.subarray(0, HEAD_BYTES - head.length)]); };
    try {
      for await (const chunk of input) {
        const c = chunk as Buffer;
        size += c.length;
        if (refused || size > this.maxBytes) {
          // Dropped: keep reading so the protocol stays in step; nothing more is kept.
          if (file) { file.destroy(); file = null; }
          chunks.length = 0;
          keepHead(c);
          continue;
        }
        hash.update(c);
        keepHead(c);
        if (file) {
          if (!file.write(c)) await drained(file, () => fileError);
          continue;
        }
        chunks.push(c);
        if (!this.spills(size)) continue;
        try {
          onSpill?.();
        } catch (err) {
          refused = err as Error;
          chunks.length = 0;
          continue;
        }
        workDir = await this.newWorkDir();
        file = createWriteStream(path.join(workDir, 'message.eml'));
        file.on('error', (err) => { fileError = err; });
        for (const b of chunks.splice(0)) file.write(b);
        await drained(file, () => fileError);
      }
      if (file) await new Promise<void>((resolve, reject) => file!.end((err?: Error | null) => (err ?? fileError ? reject(err ?? fileError) : resolve())));
    } catch (err) {
      file?.destroy();
      if (workDir) await rm(workDir, { recursive: true, force: true });
      throw err;
    }
    const oversize = size > this.maxBytes;
    if (refused || oversize) {
      if (workDir) await rm(workDir, { recursive: true, force: true });
      if (refused) throw refused;
      return this.mail({ size, sha256: '', head, bytes: null, path: null, workDir: null, oversize: true });
    }
    const bytes = file ? null : Buffer.concat(chunks, size);
    return this.mail({ size, sha256: hash.digest('hex'), head: bytes ? bytes.subarray(0, HEAD_BYTES) : head, bytes, path: workDir ? path.join(workDir, 'message.eml') : null, workDir, oversize: false });
  }

  /** A message already in memory (IMAP, tests): large ones are written out so the worker parses them. */
  async fromBuffer(raw: Buffer): Promise<SpooledMail> {
    const sha256 = createHash('sha256').update(raw).digest('hex');
    const head = raw.subarray(0, HEAD_BYTES);
    if (raw.length > this.maxBytes) return this.mail({ size: raw.length, sha256, head, bytes: null, path: null, workDir: null, oversize: true });
    if (!this.spills(raw.length)) return this.mail({ size: raw.length, sha256, head, bytes: raw, path: null, workDir: null, oversize: false });
    const workDir = await this.newWorkDir();
    const file = path.join(workDir, 'message.eml');
    await writeFile(file, raw);
    return this.mail({ size: raw.length, sha256, head, bytes: null, path: file, workDir, oversize: false });
  }

  /** A message in a file of the caller's (the pipe command's arguments): read in place, never copied whole. */
  async fromFile(file: string): Promise<SpooledMail> {
    const { size } = await stat(file);
    if (!this.spills(size) && size <= this.maxBytes) {
      return this.fromBuffer(await readFile(file));
    }
    const hash = createHash('sha256');
    let head = Buffer.alloc(0);
    for await (const c of createReadStream(file, { end: size > this.maxBytes ? HEAD_BYTES - 1 : undefined })) {
      const b = c as Buffer;
      if (head.length < HEAD_BYTES) head = Buffer.concat([head, b.subarray(0, HEAD_BYTES - head.length)]);
      hash.update(b);
    }
    if (size > this.maxBytes) return this.mail({ size, sha256: '', head, bytes: null, path: null, workDir: null, oversize: true });
    return this.mail({ size, sha256: hash.digest('hex'), head, bytes: null, path: file, workDir: await this.newWorkDir(), oversize: false });
  }

  private mail(m: Omit<SpooledMail, 'dispose'>): SpooledMail {
    return { ...m, dispose: async () => { if (m.workDir) await rm(m.workDir, { recursive: true, force: true }); } };
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function drained(file: WriteStream, failed: () => Error | null): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const err = failed();
    if (err) return reject(err);
    if (!file.writableNeedDrain) return resolve();
    const onDrain = () => { file.off('error', onError); resolve(); };
    const onError = (e: Error) => { file.off('drain', onDrain); reject(e); };
    file.once('drain', onDrain);
    file.once('error', onError);
  });
}

/**
 * A count of places (large messages in progress); take() answers null when all are taken. The
 * count lives in shared memory: the SMTP listener's thread takes places from the same count
 * (Capacity.over) without asking the main thread, whose event loop may be busy.
 */
export class Capacity {
  private readonly count: Int32Array;
  constructor(readonly limit: number, shared: SharedArrayBuffer = new SharedArrayBuffer(4)) {
    this.count = new Int32Array(shared);
  }
  /** The same places, seen from another thread. */
  static over(shared: SharedArrayBuffer, limit: number): Capacity {
    return new Capacity(limit, shared);
  }
  get shared(): SharedArrayBuffer { return this.count.buffer as SharedArrayBuffer; }
  get inUse(): number { return Atomics.load(this.count, 0); }
  get full(): boolean { return this.inUse >= this.limit; }
  take(): (() => void) | null {
    for (;;) {
      const used = Atomics.load(this.count, 0);
      if (used >= this.limit) return null;
      if (Atomics.compareExchange(this.count, 0, used, used + 1) === used) break;
    }
    let released = false;
    return () => { if (!released) { released = true; Atomics.sub(this.count, 0, 1); } };
  }
  /** Gives back places whose holder is gone (a thread that died holding them). */
  giveBack(places: number): void {
    if (places > 0) Atomics.sub(this.count, 0, places);
  }
}
