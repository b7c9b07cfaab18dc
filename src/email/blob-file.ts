import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Db, GridFSBucket } from 'mongodb';

/*
 * Where stored mail parts go, and how a file is streamed there. Only the driver's types are
 * imported: the parse worker uses this too, with the driver it loads from node_modules at its first
 * store (bundled into the worker, the driver's code alone cost the service 150–250 MB more RSS with
 * six 5 MB mails in flight; measured in docs/benchmarks.md).
 */

/** The same bucket as src/attachments/store.ts, so the portal serves mail attachments too. */
export const BLOB_BUCKET = 'attachments';
/** 1 MB chunks: a 20 MB message is 20 inserts, not 80 (each insert is a round trip). */
export const BLOB_CHUNK_BYTES = 1024 * 1024;

export const blobBucket = (db: Db, Bucket: typeof GridFSBucket) => new Bucket(db, { bucketName: BLOB_BUCKET, chunkSizeBytes: BLOB_CHUNK_BYTES });

/** Streams a file into GridFS (read 256 KB at a time: never the whole file in memory); answers its id. */
export async function putFileInBucket(bucket: GridFSBucket, file: string, filename: string, contentType: string, metadata: Record<string, unknown> = {}): Promise<string> {
  const upload = bucket.openUploadStream(filename, { metadata: { ...metadata, contentType } });
  await pipeline(createReadStream(file, { highWaterMark: 256 * 1024 }), upload);
  return String(upload.id);
}

/** Something that stores a file of the mail spool and answers the stored file's id. */
export interface FileBlobs {
  putFile(file: string, filename: string, contentType: string, metadata?: Record<string, unknown>): Promise<string>;
}
