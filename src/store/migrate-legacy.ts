import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BSON, MongoClient, type Document } from 'mongodb';
import {
  EmbeddedDatabaseError, canConnect, ensureLegacyFerretDbBinary, freePort, legacySqliteFiles, startEmbeddedDatabase,
} from './embedded.js';

/*
 * `deskbridge db migrate`: copies a DATA_DIR written by the old embedded engine (FerretDB 1 on
 * SQLite, DATA_DIR/db/sqlite) into the new one (FerretDB 2 on PostgreSQL/DocumentDB), collection by
 * collection (GridFS is two ordinary collections), then proves the copy with a count and a
 * checksum per collection. The old files are never written: FerretDB 1 runs on a scratch copy, and
 * the originals are renamed to sqlite.migrated-<time> only after every collection matched.
 * Indexes are not copied: the service creates its own at start.
 */

export interface MigrationReport {
  collections: { db: string; name: string; count: number; checksum: string }[];
  keptAt: string;
}

const SKIP_DBS = new Set(['admin', 'local', 'config']);
const BATCH = 500;

/** Order-independent digest of a collection: sha256 over the sorted sha256s of each document's BSON bytes (types and field order included). */
async function checksum(client: MongoClient, db: string, name: string): Promise<{ count: number; checksum: string }> {
  const digests: string[] = [];
  for await (const doc of client.db(db).collection(name).find({}, { batchSize: BATCH })) {
    digests.push(createHash('sha256').update(BSON.serialize(doc)).digest('hex'));
  }
  digests.sort();
  return { count: digests.length, checksum: createHash('sha256').update(digests.join('\n')).digest('hex') };
}

async function startLegacy(bin: string, sqliteCopy: string, stateDir: string): Promise<{ child: ChildProcess; uri: string; tail: string[] }> {
  const port = await freePort();
  const child = spawn(bin, [
    '--handler=sqlite', `--sqlite-url=file:${sqliteCopy}/`, `--listen-addr=127.0.0.1:${port}`, `--state-dir=${stateDir}`,
    '--telemetry=disable', '--debug-addr=-', '--log-level=WARN',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  const keep = (b: Buffer) => { tail.push(...b.toString().split('\n').filter(Boolean)); tail.splice(0, Math.max(0, tail.length - 20)); };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const deadline = Date.now() + 30_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null) throw new EmbeddedDatabaseError(`FerretDB 1 exited on the old files:\n${tail.join('\n')}`);
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new EmbeddedDatabaseError('FerretDB 1 did not start within 30 s'); }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, uri: `mongodb://127.0.0.1:${port}/`, tail };
}

export async function migrateLegacyDatabase(opts: { dataDir: string; log: (line: string) => void; now?: Date }): Promise<MigrationReport | null> {
  const dataDir = path.resolve(opts.dataDir);
  const sqliteDir = path.join(dataDir, 'sqlite');
  if (legacySqliteFiles(dataDir).length === 0) {
    opts.log(`nothing to migrate: no FerretDB 1 database in ${sqliteDir}`);
    return null;
  }
  const log = opts.log;
  log(`reading the old database in ${sqliteDir} (FerretDB 1, on a scratch copy; the originals are not written)`);
  const bin = await ensureLegacyFerretDbBinary();
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'deskbridge-migrate-'));
  const sqliteCopy = path.join(scratch, 'sqlite');
  cpSync(sqliteDir, sqliteCopy, { recursive: true });
  const legacy = await startLegacy(bin, sqliteCopy, scratch);
  const target = await startEmbeddedDatabase({ dataDir, allowLegacyFiles: true, supervise: false });
  const from = new MongoClient(legacy.uri, { serverSelectionTimeoutMS: 10_000 });
  const to = new MongoClient(target.uri, { serverSelectionTimeoutMS: 10_000 });
  const report: MigrationReport = { collections: [], keptAt: '' };
  try {
    const dbs = (await from.db('admin').admin().listDatabases()).databases.map((d) => d.name).filter((n) => !SKIP_DBS.has(n));
    for (const dbName of dbs) {
      const names = (await from.db(dbName).listCollections({}, { nameOnly: true }).toArray())
        .map((c) => c.name).filter((n) => !n.startsWith('system.')).sort();
      for (const name of names) {
        const t0 = Date.now();
        const dest = to.db(dbName).collection(name);
        // A migration cut short earlier left a partial copy: start that collection over.
        await dest.drop().catch(() => undefined);
        await to.db(dbName).createCollection(name);
        let batch: Document[] = [];
        let copied = 0;
        for await (const doc of from.db(dbName).collection(name).find({}, { batchSize: BATCH })) {
          batch.push(doc);
          if (batch.length === BATCH) { await dest.insertMany(batch, { ordered: true }); copied += batch.length; batch = []; }
        }
        if (batch.length) { await dest.insertMany(batch, { ordered: true }); copied += batch.length; }
        const [a, b] = await Promise.all([checksum(from, dbName, name), checksum(to, dbName, name)]);
        if (a.count !== b.count || a.checksum !== b.checksum) {
          throw new EmbeddedDatabaseError(
            `migration check failed for ${dbName}.${name}: old ${a.count} documents (${a.checksum.slice(0, 12)}), ` +
            `new ${b.count} (${b.checksum.slice(0, 12)}). Nothing was renamed; the old files are untouched.`,
          );
        }
        report.collections.push({ db: dbName, name, count: a.count, checksum: a.checksum });
        log(`${dbName}.${name}: ${copied} documents copied, count and checksum match (${Date.now() - t0} ms)`);
      }
    }
  } finally {
    await from.close().catch(() => undefined);
    await to.close().catch(() => undefined);
    await new Promise<void>((resolve) => {
      if (legacy.child.exitCode !== null) return resolve();
      const timer = setTimeout(() => legacy.child.kill('SIGKILL'), 5000);
      legacy.child.once('exit', () => { clearTimeout(timer); resolve(); });
      legacy.child.kill('SIGTERM');
    });
    await target.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
  const stamp = (opts.now ?? new Date()).toISOString().replace(/[:.]/g, '-').slice(0, 19);
  report.keptAt = path.join(dataDir, `sqlite.migrated-${stamp}`);
  renameSync(sqliteDir, report.keptAt);
  log(`done: ${report.collections.length} collections, ${report.collections.reduce((n, c) => n + c.count, 0)} documents. ` +
    `The old files are kept in ${report.keptAt} (delete them once you are satisfied).`);
  return report;
}
