import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { GridFSBucket, ObjectId, type Db } from 'mongodb';

/*
 * Where stored mail parts go, and how a file is streamed there. Imports nothing but the driver: the
 * parse worker uses it too (it stores large messages' parts itself, off the main thread).
 */

/** The same bucket as src/attachments/store.ts, so the portal serves mail attachments too. */
export const BLOB_BUCKET = 'attachments';
/** 1 MB chunks: a 20 MB message is 20 inserts, not 80 (each insert is a round trip). */
export const BLOB_CHUNK_BYTES = 1024 * 1024;

export const blobBucket = (db: Db) => new GridFSBucket(db, { bucketName: BLOB_BUCKET, chunkSizeBytes: BLOB_CHUNK_BYTES });

/** Streams a file into GridFS (read 256 KB at a time: never the whole file in memory); answers its id. */
export async function putFileInBucket(bucket: GridFSBucket, file: string, filename: string, contentType: string, metadata: Record<string, unknown> = {}): Promise<string> {
  const id = new ObjectId();
  const upload = bucket.openUploadStreamWithId(id, filename, { metadata: { ...metadata, contentType } });
  await pipeline(createReadStream(file, { highWaterMark: 256 * 1024 }), upload);
  return String(id);
}

/** Something that stores a file of the mail spool and answers the stored file's id. */
export interface FileBlobs {
  putFile(file: string, filename: string, contentType: string, metadata?: Record<string, unknown>): Promise<string>;
}
