import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { createGunzip, createGzip } from 'node:zlib';
import { BSON, type Db, type Document } from 'mongodb';
import { DeskbridgeError } from '../domain/errors.js';

/*
 * `deskbridge backup FILE` / `deskbridge restore FILE`.
 *
 * The archive is one gzip stream of JSON lines (canonical Extended JSON, so ObjectIds, dates and
 * binary GridFS chunks come back exactly):
 *   {"format":"deskbridge-backup","version":1,...}          header
 *   {"collection":"tickets","indexes":[...]}                 one section per collection,
 *   {"doc":{...}}                                            its documents,
 *   {"end":"tickets","documents":N,"sha256":"..."}           and its checksum (of the doc lines)
 *   {"manifest":{...}}                                       every section's name, count, sha256
 *
 * Consistent while the service runs, without transactions (FerretDB 2.5 has none): every document
 * is read whole (single-document atomicity), and the order closes every reference:
 *   - tickets before the collections that point at them; entries, activities, time entries and
 *     presence whose ticket is not in the archive (made after the tickets were read) are left out;
 *   - GridFS: each file's chunks, then the file documents; a file is kept only with all its chunks
 *     (the chunks of files made or deleted during the backup are left out with them);
 *   - counters last, so every sequence is at least the highest number in the archive.
 * Documents written while the backup runs may or may not be in it; none is in it half.
 */

export const BACKUP_FORMAT = 'deskbridge-backup';
const VERSION = 1;
const GRIDFS = 'attachments';
const TICKET_CHILDREN = new Set(['entries', 'activities', 'timeEntries', 'presence']);
const LAST: string[] = ['counters'];

export interface CollectionManifest { name: string; documents: number; sha256: string; indexes: Document[] }
export interface BackupManifest {
  format: string;
  version: number;
  database: string;
  startedAt: string;
  finishedAt: string;
  collections: CollectionManifest[];
}

/** Progress lines; awaited, so a caller may pause the backup between sections. */
type Log = (line: string) => unknown;
const ejson = (v: unknown) => BSON.EJSON.stringify(v as Document, { relaxed: false });

const corrupt = (file: string, why: string) =>
  new DeskbridgeError('VALIDATION_FAILED', `backup archive ${file} is corrupt or incomplete: ${why}; nothing was restored`);

/** The order collections are written in (see above). */
function backupOrder(names: string[]): string[] {
  const own = names.filter((n) => !n.startsWith('system.') && n !== `${GRIDFS}.files` && n !== `${GRIDFS}.chunks`);
  const first: string[] = own.filter((n) => n === 'tickets');
  const last = own.filter((n) => LAST.includes(n));
  const middle = own.filter((n) => !first.includes(n) && !last.includes(n)).sort();
  // Chunks before their file documents, as GridFS writes them.
  const gridfs = names.includes(`${GRIDFS}.files`) ? [`${GRIDFS}.chunks`, `${GRIDFS}.files`] : [];
  return [...first, ...middle, ...gridfs, ...last];
}

/** Writes a consistent archive of every collection of `db` to `file` (via a temporary file, renamed when complete). */
export async function backupDatabase(db: Db, file: string, log: Log = () => undefined): Promise<BackupManifest> {
  const startedAt = new Date().toISOString();
  const partial = `${file}.partial`;
  const gzip = createGzip();
  const out = createWriteStream(partial, { mode: 0o600 });
  const piped = new Promise<void>((resolve, reject) => {
    gzip.pipe(out);
    out.on('finish', resolve);
    out.on('error', reject);
    gzip.on('error', reject);
  });
  const write = async (line: string) => {
    if (!gzip.write(`${line}\n`)) await once(gzip, 'drain');
  };
  const manifest: BackupManifest = { format: BACKUP_FORMAT, version: VERSION, database: db.databaseName, startedAt, finishedAt: '', collections: [] };
  try {
    await write(JSON.stringify({ format: BACKUP_FORMAT, version: VERSION, database: db.databaseName, startedAt }));
    const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);
    const ticketIds = new Set<string>();
    const ticketNumbers = new Set<number>();
    const completeFiles = new Set<string>();
    for (const name of backupOrder(names)) {
      const indexes = (await db.collection(name).listIndexes().toArray().catch(() => [])).filter((i) => i.name !== '_id_');
      await write(JSON.stringify({ collection: name, indexes: JSON.parse(ejson(indexes)) }));
      const hash = createHash('sha256');
      let documents = 0;
      const emit = async (doc: Document) => {
        const line = `{"doc":${ejson(doc)}}`;
        hash.update(`${line}\n`);
        await write(line);
        documents++;
        if (documents % 5000 === 0) await log(`backup: ${name} ${documents} documents`);
      };
      if (name === `${GRIDFS}.chunks`) {
        // Every file known now, with all of its chunks; files whose chunks are incomplete (being
        // written or deleted right now) are left out of both sections.
        const files = db.collection(`${GRIDFS}.files`).find({}, { projection: { _id: 1, length: 1, chunkSize: 1 } }).sort({ _id: 1 });
        for await (const f of files) {
          const expected = Math.ceil(Number(f.length ?? 0) / Number(f.chunkSize || 1));
          const chunks = await db.collection(name).find({ files_id: f._id }).sort({ n: 1 }).toArray();
          if (chunks.length !== expected || chunks.some((c, i) => c.n !== i)) continue;
          for (const c of chunks) await emit(c);
          completeFiles.add(String(f._id));
        }
      } else {
        for await (const doc of db.collection(name).find({}).sort({ _id: 1 })) {
          if (name === 'tickets') {
            ticketIds.add(String(doc._id));
            ticketNumbers.add(doc.number as number);
          } else if (TICKET_CHILDREN.has(name) && !belongsToArchivedTicket(doc, ticketIds, ticketNumbers)) {
            continue;
          } else if (name === `${GRIDFS}.files` && !completeFiles.has(String(doc._id))) {
            continue;
          }
          await emit(doc);
        }
      }
      const sha256 = hash.digest('hex');
      await write(JSON.stringify({ end: name, documents, sha256 }));
      manifest.collections.push({ name, documents, sha256, indexes: JSON.parse(ejson(indexes)) as Document[] });
      await log(`backup: ${name} done, ${documents} documents`);
    }
    manifest.finishedAt = new Date().toISOString();
    await write(JSON.stringify({ manifest }));
    gzip.end();
    await piped;
    await rename(partial, file);
  } catch (err) {
    gzip.destroy();
    out.destroy();
    await rm(partial, { force: true });
    throw err;
  }
  return manifest;
}

function belongsToArchivedTicket(doc: Document, ids: Set<string>, numbers: Set<number>): boolean {
  if (doc.ticketId != null) return ids.has(String(doc.ticketId));
  if (doc.ticketNumber != null) return numbers.has(Number(doc.ticketNumber));
  return true;
}

interface Header { format?: string; version?: number }
interface Section { name: string; indexes: Document[]; documents: number; hash: ReturnType<typeof createHash> }

/**
 * Reads the archive once, start to end, and checks every section against its checksum and the
 * manifest. `onDocument` (restore) is called only in the second, verified, pass.
 */
async function readArchive(file: string, onSection?: (name: string, indexes: Document[]) => Promise<void>, onDocument?: (name: string, doc: Document) => Promise<void>): Promise<BackupManifest> {
  const raw = createReadStream(file);
  const input = raw.pipe(createGunzip());
  const lines = createInterface({ input, crlfDelay: Infinity });
  // The line reader re-emits the gzip stream's error, possibly after the outcome is decided (the
  // `failed` promise below reports it); without a listener that would be an uncaught exception.
  lines.on('error', () => undefined);
  let header: Header | null = null;
  let section: Section | null = null;
  const done = new Map<string, { documents: number; sha256: string }>();
  let manifest: BackupManifest | null = null;
  const failed = new Promise<never>((_, reject) => {
    input.on('error', (err) => reject(corrupt(file, `not a readable gzip stream (${err.message})`)));
    raw.on('error', (err) => reject(new DeskbridgeError('VALIDATION_FAILED', `backup archive ${file} cannot be read: ${err.message}; nothing was restored`)));
  });
  // The gzip trailer (CRC and length) is checked only when the stream ends: an archive is good
  // only once that has happened, not when its last line has been read.
  const ended = new Promise<void>((resolve) => input.once('end', resolve));
  const read = (async () => {
    for await (const line of lines) {
      if (manifest) throw corrupt(file, 'data after the manifest');
      if (!header) {
        let h: Header | null;
        try { h = JSON.parse(line) as Header | null; } catch { throw corrupt(file, 'no backup header'); }
        if (h?.format !== BACKUP_FORMAT) throw corrupt(file, 'not a deskbridge backup');
        if (h.version !== VERSION) throw corrupt(file, `format version ${h.version} is not supported`);
        header = h;
        continue;
      }
      if (line.startsWith('{"doc":')) {
        if (!section) throw corrupt(file, 'a document outside any collection');
        section.hash.update(`${line}\n`);
        section.documents++;
        if (onDocument) {
          const parsed = BSON.EJSON.parse(line, { relaxed: false }) as { doc: Document };
          await onDocument(section.name, parsed.doc);
        }
        continue;
      }
      let record: Record<string, unknown>;
      try { record = JSON.parse(line) as Record<string, unknown>; } catch { throw corrupt(file, 'an unreadable line'); }
      if (typeof record.collection === 'string') {
        if (section) throw corrupt(file, `collection ${section.name} has no end`);
        section = { name: record.collection, indexes: (record.indexes as Document[]) ?? [], documents: 0, hash: createHash('sha256') };
        if (onSection) await onSection(section.name, BSON.EJSON.deserialize(section.indexes, { relaxed: false }) as Document[]);
      } else if (typeof record.end === 'string') {
        if (!section || section.name !== record.end) throw corrupt(file, `unexpected end of ${record.end}`);
        const sha256 = section.hash.digest('hex');
        if (sha256 !== record.sha256 || section.documents !== record.documents) throw corrupt(file, `checksum mismatch in ${section.name}`);
        done.set(section.name, { documents: section.documents, sha256 });
        section = null;
      } else if (record.manifest) {
        manifest = record.manifest as BackupManifest;
      } else {
        throw corrupt(file, 'an unknown line');
      }
    }
    if (!manifest) throw corrupt(file, 'the manifest is missing (truncated archive?)');
    const m: BackupManifest = manifest;
    if (section) throw corrupt(file, `collection ${(section as Section).name} has no end`);
    if (m.collections.length !== done.size) throw corrupt(file, 'the manifest does not list the collections found');
    for (const c of m.collections) {
      const got = done.get(c.name);
      if (!got || got.sha256 !== c.sha256 || got.documents !== c.documents) throw corrupt(file, `manifest mismatch for ${c.name}`);
    }
    await Promise.race([ended, failed]);
    return m;
  })().catch((err: Error & { code?: string }) => {
    // zlib's errors (Z_DATA_ERROR "incorrect data check" …) can reach the line reader before the
    // stream's own error event: either way the archive is corrupt, said the same way.
    if (typeof err.code === 'string' && err.code.startsWith('Z_')) throw corrupt(file, `not a readable gzip stream (${err.message})`);
    throw err;
  });
  return Promise.race([read, failed]);
}

/** Checks an archive completely (checksums, manifest) without touching any database. */
export async function verifyArchive(file: string): Promise<BackupManifest> {
  return readArchive(file);
}

/**
 * Restores an archive into `db`, which must be empty (no documents in any collection). The whole
 * archive is verified first, so a corrupt one leaves the database untouched.
 */
export async function restoreDatabase(db: Db, file: string, log: Log = () => undefined): Promise<BackupManifest> {
  const manifest = await verifyArchive(file);
  log(`restore: ${file} verified: ${manifest.collections.length} collections, ${manifest.collections.reduce((n, c) => n + c.documents, 0)} documents, taken ${manifest.startedAt}`);
  for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
    if (name.startsWith('system.')) continue;
    if (await db.collection(name).findOne({}, { projection: { _id: 1 } })) {
      throw new DeskbridgeError('CONFLICT', `restore needs an empty database: ${db.databaseName}.${name} has documents; nothing was restored`);
    }
  }
  let batch: Document[] = [];
  let batchBytes = 0;
  let current = '';
  let count = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await db.collection(current).insertMany(batch, { ordered: true });
    count += batch.length;
    batch = [];
    batchBytes = 0;
  };
  const indexesOf = new Map<string, Document[]>();
  await readArchive(file, async (name, indexes) => {
    await flush();
    if (current) log(`restore: ${current} done, ${count} documents`);
    current = name;
    count = 0;
    indexesOf.set(name, indexes);
  }, async (_name, doc) => {
    batch.push(doc);
    batchBytes += doc.data?.buffer?.length ?? 200;
    if (batch.length >= 500 || batchBytes > 8 * 1024 * 1024) await flush();
  });
  await flush();
  if (current) log(`restore: ${current} done, ${count} documents`);
  for (const [name, indexes] of indexesOf) {
    for (const spec of indexes) {
      const { key, name: indexName, v: _v, ns: _ns, ...options } = spec;
      try {
        await db.collection(name).createIndex(key as Document, { ...options, name: indexName as string });
      } catch (err) {
        // The app creates its own indexes at start; an index this server cannot build is not data.
        log(`restore: index ${name}.${String(indexName)} not created: ${(err as Error).message}`);
      }
    }
  }
  log('restore: complete');
  return manifest;
}
