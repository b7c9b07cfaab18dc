import { startMailApp } from './support.js';

/* With the database gone, the inbound listener answers 4xx so the sending server retries later. */
test('database unreachable → 451 (nothing acknowledged that was not stored)', async () => {
  const t = await startMailApp();
  try {
    await t.drain();
    // In-flight work (delivery loops) is interrupted by the close; that is the point of the test.
    await t.app.ctx.db.connection.close().catch(() => undefined);
    const started = Date.now();
    await expect(t.send({ from: 'ann@corp.example', to: 'support@help.example', subject: 'hello', text: 'are you there?' }))
      .rejects.toMatchObject({ responseCode: 451 });
    console.log(`451 after ${Date.now() - started} ms`);
  } finally {
    await t.close().catch(() => undefined);
  }
}, 60_000);
