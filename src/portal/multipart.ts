import type { Request } from 'express';
import busboy from 'busboy';
import { DeskbridgeError, invalid } from '../domain/errors.js';

/** Attachments per portal message, all files together (the product's 20 MB per-message cap). */
export const MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024;
const MAX_FILES = 20;
/** Text fields may be longer than the 65,536-character cap (the service cuts them with an ellipsis), but not unbounded. */
const MAX_FIELD_BYTES = 1024 * 1024;

export interface UploadedFile {
  filename: string;
  contentType: string;
  data: Buffer;
}

export interface MultipartBody {
  fields: Record<string, string>;
  files: UploadedFile[];
}

/**
 * Reads a multipart/form-data request into memory, refusing more than 20 MB of files in total.
 * Nothing is stored here: the caller checks the CSRF token first, then stores the files.
 */
export function readMultipart(req: Request): Promise<MultipartBody> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: req.headers,
        limits: { files: MAX_FILES, fields: 20, fieldSize: MAX_FIELD_BYTES, fileSize: MAX_ATTACHMENT_BYTES + 1 },
      });
    } catch {
      reject(invalid('(body)', 'expected multipart/form-data'));
      return;
    }
    const fields: Record<string, string> = {};
    const files: UploadedFile[] = [];
    let total = 0;
    let failure: DeskbridgeError | null = null;
    const fail = (e: DeskbridgeError) => {
      failure ??= e;
    };

    bb.on('field', (name, value, info) => {
      if (info.valueTruncated) fail(new DeskbridgeError('PAYLOAD_TOO_LARGE', `${name}: longer than ${MAX_FIELD_BYTES} bytes`));
      fields[name] = value;
    });
    bb.on('file', (_name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => {
        total += chunk.length;
        // Keep draining the request so the browser gets our answer, but stop keeping bytes.
        if (total > MAX_ATTACHMENT_BYTES) fail(new DeskbridgeError('PAYLOAD_TOO_LARGE', 'attachments exceed 20 MB in total'));
        else chunks.push(chunk);
      });
      stream.on('end', () => {
        // A file input left empty still sends a part with no name and no bytes.
        if (failure) return;
        const data = Buffer.concat(chunks);
        if (!info.filename && data.length === 0) return;
        files.push({ filename: info.filename || 'attachment', contentType: info.mimeType || 'application/octet-stream', data });
      });
    });
    bb.on('filesLimit', () => fail(new DeskbridgeError('PAYLOAD_TOO_LARGE', `at most ${MAX_FILES} files`)));
    bb.on('error', (err) => reject(invalid('(body)', `malformed form data: ${(err as Error).message}`)));
    bb.on('close', () => {
      if (failure) reject(failure);
      else resolve({ fields, files });
    });
    req.pipe(bb);
  });
}
