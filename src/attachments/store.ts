import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GridFSBucket, ObjectId, type Db } from 'mongodb';
import type { AttachmentRef } from '../tickets/types.js';

/**
 * Attachment bytes in GridFS (bucket "attachments"); entries keep only an AttachmentRef.
 * Access control is the caller's job: a download route checks that the id belongs to an entry
 * the reader may see before calling get().
 */
export interface AttachmentMeta {
  filename: string;
  contentType: string;
}

export interface StoredAttachment {
  ref: AttachmentRef;
  stream(): Readable;
}

export class AttachmentStore {
  private readonly bucket: GridFSBucket;

  constructor(db: Db) {
    this.bucket = new GridFSBucket(db, { bucketName: 'attachments' });
  }

  async put(content: Readable | Buffer, meta: AttachmentMeta): Promise<AttachmentRef> {
    const upload = this.bucket.openUploadStream(meta.filename, { metadata: { contentType: meta.contentType } });
    const source = Buffer.isBuffer(content) ? Readable.from([content]) : content;
    await pipeline(source, upload);
    return { id: String(upload.id), filename: meta.filename, contentType: meta.contentType, size: upload.length };
  }

  async get(id: string): Promise<StoredAttachment | null> {
    if (!ObjectId.isValid(id)) return null;
    const _id = new ObjectId(id);
    const [file] = await this.bucket.find({ _id }).limit(1).toArray();
    if (!file) return null;
    const contentType = (file.metadata?.contentType as string | undefined) ?? 'application/octet-stream';
    return {
      ref: { id, filename: file.filename, contentType, size: file.length },
      stream: () => this.bucket.openDownloadStream(_id),
    };
  }

  /** Removes stored files, e.g. uploads of a request that failed before its entry was written. */
  async remove(ids: string[]): Promise<void> {
    for (const id of ids) {
      if (ObjectId.isValid(id)) await this.bucket.delete(new ObjectId(id)).catch(() => undefined);
    }
  }
}
