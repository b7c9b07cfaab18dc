import { startMailApp } from './support.js';

/* With the database gone, the inbound listener answers 4xx so the sending server retries later. */
test('database unreachable → 451 (nothing acknowledged that was not stored)', async () => {
  const t = await startMailApp();
  try {
    await t.drain();
    // Background loops (deliveries, agenda) are stopped first: closing the connection under their
    // in-flight queries would reject those, which is not what this test is about. The SMTP path is.
    await t.app.ctx.deliveries.stop();
    await t.app.ctx.scheduler.stop();
    await t.app.ctx.db.connection.close();
    const started = Date.now();
    await expect(t.send({ from: 'ann@corp.example', to: 'support@help.example', subject: 'hello', text: 'are you there?' }))
      .rejects.toMatchObject({ responseCode: 451 });
    console.log(`451 after ${Date.now() - started} ms`);
  } finally {
    await t.close().catch(() => undefined);
  }
}, 60_000);
