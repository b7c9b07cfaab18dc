import { connectDatabase } from '../../src/store/database.js';
import { freshDbName, testMongoUri } from '../support/db.js';

// Automation rules change tickets while people do: the service's version-guarded updates must not
// lose one of two concurrent changes (FerretDB needs the single-connection pool for that).
test('version-guarded updates from one app never lose a concurrent change', async () => {
  const db = await connectDatabase(testMongoUri(), { dbName: freshDbName('cas') });
  try {
    const c = db.connection.db!.collection('probe');
    const id = 'x' as never;
    await c.insertOne({ _id: id, version: 0 });
    let succeeded = 0;
    await Promise.all(Array.from({ length: 20 }, async (_, i) => {
      for (;;) {
        const d = await c.findOne({ _id: id });
        const r = await c.updateOne({ _id: id, version: d!.version }, { $set: { [`f${i}`]: i }, $inc: { version: 1 } });
        if (r.matchedCount === 1) { succeeded++; return; }
      }
    }));
    const d = await c.findOne({ _id: id });
    expect(succeeded).toBe(20);
    expect(d!.version).toBe(20);
    expect(Array.from({ length: 20 }, (_, i) => d![`f${i}`])).toEqual(Array.from({ length: 20 }, (_, i) => i));
    await db.connection.db!.dropDatabase();
  } finally {
    await db.close();
  }
});
