import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { BSON, GridFSBucket, MongoClient, type Db, type Document } from 'mongodb';
import { backupDatabase, restoreDatabase } from '../../src/store/backup.js';
import { freshDbName, startTestApp, testMongoUri, type TestApp } from '../support/db.js';

/*
 * Backup while the service takes writes, restore into a fresh database, compare: nothing lost
 * (everything there before the backup began comes back identical), nothing torn (no entry without
 * its ticket, no file without all its chunks, counters ahead of every number). A corrupt archive is
 * refused and the target left untouched.
 */
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
let t: TestApp;
let client: MongoClient;
let dir: string;
const sourceDb = (): Db => client.db(t.dbName);

beforeAll(async () => {
  t = await startTestApp();
  client = await new MongoClient(testMongoUri()).connect();
  dir = mkdtempSync(path.join(os.tmpdir(), 'deskbridge-backup-'));
});
afterAll(async () => {
  await client?.close();
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

const sha = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');
const canonical = (d: Document) => BSON.EJSON.stringify(d, { relaxed: false });

async function newTicket(i: number) {
  const r = await t.api('POST', '/tickets', { title: `printer ${i}`, description: `jam ${i}`, requester: { email: `user${i % 7}@corp.example` } });
  expect(r.status).toBe(201);
  return r.body.number as number;
}

/** A stored file of several chunks, like a mail attachment. */
async function putFile(db: Db, size: number): Promise<{ id: string; sha: string }> {
  const data = randomBytes(size);
  const bucket = new GridFSBucket(db, { bucketName: 'attachments', chunkSizeBytes: 256 * 1024 });
  const upload = bucket.openUploadStream(`f-${size}.bin`, { metadata: { contentType: 'application/octet-stream' } });
  await new Promise<void>((resolve, reject) => upload.end(data, (err?: Error | null) => (err ? reject(err) : resolve())));
  return { id: String(upload.id), sha: sha(data) };
}

async function snapshot(db: Db): Promise<Map<string, Map<string, string>>> {
  const out = new Map<string, Map<string, string>>();
  for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
    const docs = new Map<string, string>();
    for (const d of await db.collection(name).find({}).toArray()) docs.set(canonical({ _id: d._id }), canonical(d));
    out.set(name, docs);
  }
  return out;
}

async function fileContent(db: Db, id: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of new GridFSBucket(db, { bucketName: 'attachments' }).openDownloadStream(new BSON.ObjectId(id))) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

let archive: string;
let before: Map<string, Map<string, string>>;
const files: { id: string; sha: string }[] = [];

test('a backup taken under write load restores into a fresh database: nothing lost, nothing torn', async () => {
  for (let i = 0; i < 20; i++) await newTicket(i);
  for (let i = 0; i < 4; i++) files.push(await putFile(sourceDb(), 300_000 + i * 200_000));
  before = await snapshot(sourceDb());

  // Writers keep going for the whole backup: new tickets with replies, new multi-chunk files.
  let stop = false;
  let written = 0;
  const load = (async () => {
    for (let i = 100; !stop; i++) {
      const n = await newTicket(i);
      await t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: `more ${i}`, author: { email: `user${i % 7}@corp.example` } });
      if (i % 3 === 0) files.push(await putFile(sourceDb(), 600_000));
      written++;
    }
  })();
  archive = path.join(dir, 'load.deskbridge.gz');
  const progress: string[] = [];
  // Let the writers get going so the backup really overlaps them.
  while (written < 3) await new Promise((r) => setTimeout(r, 20));
  let lateTicket = 0;
  const manifest = await backupDatabase(sourceDb(), archive, async (l) => {
    progress.push(l);
    // A ticket (with its entry and activities) made right after the tickets were read: its entry
    // must not be in the archive without it.
    if (l.startsWith('backup: tickets done')) lateTicket = await newTicket(9999);
  });
  const writtenDuringBackup = written;
  stop = true;
  await load;
  expect(writtenDuringBackup).toBeGreaterThan(3);
  expect(progress.some((l) => /^backup: tickets done, \d+ documents$/.test(l))).toBe(true);
  expect(manifest.collections.map((c) => c.name)).toEqual(expect.arrayContaining(['tickets', 'entries', 'activities', 'attachments.files', 'attachments.chunks', 'counters']));

  // The archive is a complete, valid gzip (its CRC checked to the last byte).
  const whole = readFileSync(archive);
  expect(() => gunzipSync(whole)).not.toThrow();

  const target = client.db(freshDbName('restore'));
  const restoreLog: string[] = [];
  await restoreDatabase(target, archive, (l) => restoreLog.push(l));
  expect(restoreLog[0]).toMatch(/^restore: .* verified: \d+ collections/);
  expect(restoreLog.at(-1)).toBe('restore: complete');

  // Nothing lost: what existed before the backup began is back, byte for byte (counters move on).
  const after = await snapshot(target);
  for (const [name, docs] of before) {
    if (name === 'counters') continue;
    const restored = after.get(name);
    for (const [id, doc] of docs) expect({ name, id, doc: restored?.get(id) }).toEqual({ name, id, doc });
  }
  for (const f of files.slice(0, 4)) expect(sha(await fileContent(target, f.id))).toBe(f.sha);

  // Nothing torn: every entry and activity has its ticket; every file is whole; counters lead.
  const tickets = await target.collection('tickets').find({}, { projection: { _id: 1, number: 1 } }).toArray();
  const ticketIds = new Set(tickets.map((x) => String(x._id)));
  expect(lateTicket).toBeGreaterThan(0);
  expect(tickets.some((x) => x.number === lateTicket)).toBe(false);
  expect(await target.collection('entries').countDocuments({ ticketNumber: lateTicket })).toBe(0);
  for (const e of await target.collection('entries').find({}, { projection: { ticketId: 1 } }).toArray()) expect(ticketIds.has(String(e.ticketId))).toBe(true);
  for (const a of await target.collection('activities').find({}, { projection: { ticketId: 1 } }).toArray()) {
    if (a.ticketId) expect(ticketIds.has(String(a.ticketId))).toBe(true);
  }
  for (const ticket of tickets) expect(await target.collection('entries').countDocuments({ ticketId: ticket._id })).toBeGreaterThan(0);
  const shaOf = new Map(files.map((f) => [f.id, f.sha]));
  for (const f of await target.collection('attachments.files').find({}).toArray()) {
    expect(sha(await fileContent(target, String(f._id)))).toBe(shaOf.get(String(f._id)));
  }
  const chunkOwners = await target.collection('attachments.chunks').distinct('files_id');
  expect(chunkOwners.length).toBe(await target.collection('attachments.files').countDocuments());
  const maxNumber = Math.max(...tickets.map((x) => x.number as number));
  const counters = await target.collection('counters').find({}).toArray();
  expect(Math.max(...counters.map((c) => c.seq as number))).toBeGreaterThanOrEqual(maxNumber);

  // The restored database is a working helpdesk: a new ticket never reuses a number (numbers taken
  // by tickets made after the tickets were read are skipped, not reused).
  const restoredApp = await startTestApp({ dbName: target.databaseName });
  try {
    const r = await restoredApp.api('POST', '/tickets', { title: 'after restore', description: 'works', requester: { email: 'ann@corp.example' } });
    expect(r.status).toBe(201);
    expect(r.body.number).toBeGreaterThan(maxNumber);
  } finally {
    await restoredApp.close();
  }
}, 120_000);

async function expectUntouched(db: Db) {
  for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
    expect({ name, docs: await db.collection(name).countDocuments() }).toEqual({ name, docs: 0 });
  }
}

test('a corrupted archive is refused with a clear error and the target is left untouched', async () => {
  const good = readFileSync(archive);
  // 1. Bytes flipped inside the compressed stream.
  const flipped = Buffer.from(good);
  for (let i = Math.floor(flipped.length / 2); i < Math.floor(flipped.length / 2) + 16; i++) flipped[i] = flipped[i]! ^ 0xff;
  // 2. A valid gzip whose content was altered (one document changed): only the checksum can tell.
  const text = gunzipSync(good).toString('utf8');
  const altered = gzipSync(Buffer.from(text.replace('"printer 3"', '"printer X"')));
  expect(altered.equals(good)).toBe(false);
  // 3. Cut short: the manifest is missing.
  const lines = text.split('\n');
  const truncated = gzipSync(Buffer.from(lines.slice(0, Math.floor(lines.length * 0.8)).join('\n') + '\n'));
  for (const [label, bytes, why] of [['flipped', flipped, /corrupt or incomplete/], ['altered', altered, /checksum mismatch in tickets/], ['truncated', truncated, /manifest is missing/]] as const) {
    const file = path.join(dir, `${label}.gz`);
    writeFileSync(file, bytes);
    const target = client.db(freshDbName('corrupt'));
    await expect(restoreDatabase(target, file)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(why) });
    await expectUntouched(target);
  }
});

test('restore refuses a database that has documents, and changes nothing in it', async () => {
  const target = client.db(freshDbName('nonempty'));
  await target.collection('tickets').insertOne({ number: 1, title: 'already here' });
  await expect(restoreDatabase(target, archive)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/needs an empty database/) });
  expect(await target.collection('tickets').countDocuments()).toBe(1);
  expect(await target.collection('entries').countDocuments()).toBe(0);
});

/** The command line as an operator runs it, against the test database server. */
function cli(args: string[], dbName: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const uri = new URL(testMongoUri());
  uri.pathname = `/${dbName}`;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli.ts'), ...args], {
    cwd: root, env: { ...process.env, MONGODB_URI: uri.toString(), LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

test('`deskbridge backup FILE` and `deskbridge restore FILE`: progress lines, a summary, a one-line error for a corrupt archive', async () => {
  const file = path.join(dir, 'cli.deskbridge.gz');
  const backup = await cli(['backup', file], t.dbName);
  expect(backup).toMatchObject({ code: 0, stdout: expect.stringMatching(/^backup written to .*: \d+ collections, \d+ documents\n$/) });
  expect(backup.stderr).toMatch(/^backup: tickets done, \d+ documents$/m);
  const target = freshDbName('cli');
  const restore = await cli(['restore', file], target);
  expect(restore).toMatchObject({ code: 0, stdout: expect.stringMatching(/^restored .*: \d+ collections, \d+ documents\n$/) });
  expect(restore.stderr).toMatch(/^restore: tickets done, \d+ documents$/m);
  expect(await client.db(target).collection('tickets').countDocuments()).toBe(await sourceDb().collection('tickets').countDocuments());

  const corrupt = path.join(dir, 'cli-corrupt.gz');
  writeFileSync(corrupt, readFileSync(file).subarray(0, 200));
  const failed = await cli(['restore', corrupt], freshDbName('cli2'));
  expect(failed.code).toBe(1);
  expect(failed.stderr.trim()).toMatch(/^backup archive .* is corrupt or incomplete: .*; nothing was restored$/);
}, 120_000);
