import { createRequire } from 'node:module';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import type { GridFSBucket } from 'mongodb';
import { blobBucket, putFileInBucket } from './blob-file.js';
import { parseMessageFile } from './parse.js';

/*
 * A parse worker of MessageParser's pool: reads a spooled message from its file and writes its
 * attachments to files in the message's work folder; only text, headers and file names come back.
 * With a database (workerData.storage) it also streams those files (the raw message, the
 * attachments) into GridFS on its own connection, so a large message's bytes never pass through
 * the main thread: there they would cost buffer copies, BSON framing of 1 MB chunks, socket writes
 * and the collections of all that garbage, all of which stall the event loop (Slack acks).
 */

export type WorkerRequest =
  | { id: number; op: 'parse'; file: string; outDir: string }
  | { id: number; op: 'store'; file: string; filename: string; contentType: string; metadata: Record<string, unknown> };

export interface WorkerStorage {
  uri: string;
  dbName: string;
  serverSelectionTimeoutMS: number;
  /** The driver's entry file (node_modules): loaded from there, never bundled into the worker (see blob-file.ts). */
  driver: string;
}

const storage = (workerData as { storage?: WorkerStorage } | null)?.storage ?? null;
let bucket: Promise<GridFSBucket> | null = null;

/** The driver is loaded at the first store, not with the worker (a worker that only parses stays small). */
function gridFs(): Promise<GridFSBucket> {
  if (!storage) return Promise.reject(new Error('this parse worker has no database'));
  bucket ??= (async () => {
    const driver = createRequire(path.join(process.cwd(), 'parse-worker.js'))(storage.driver) as typeof import('mongodb');
    // A few connections: uploads of several messages run at once; the driver reconnects by itself.
    const client = new driver.MongoClient(storage.uri, { maxPoolSize: 4, serverSelectionTimeoutMS: storage.serverSelectionTimeoutMS });
    return blobBucket(client.db(storage.dbName), driver.GridFSBucket);
  })();
  bucket.catch(() => { bucket = null; });
  return bucket;
}

parentPort!.on('message', async (req: WorkerRequest) => {
  try {
    if (req.op === 'store') {
      const id = await putFileInBucket(await gridFs(), req.file, req.filename, req.contentType, req.metadata);
      parentPort!.postMessage({ id: req.id, stored: id });
    } else {
      parentPort!.postMessage({ id: req.id, parsed: await parseMessageFile(req.file, req.outDir) });
    }
  } catch (err) {
    parentPort!.postMessage({ id: req.id, error: (err as Error).message });
  }
});
