import type { EventEmitter } from 'node:events';
import { startMailApp } from './support.js';

/**
 * Waits until no command of this client has been in flight for 100 ms (start-up work such as a
 * job that agenda had already begun may still be running after the loops were stopped).
 */
async function quiet(client: EventEmitter): Promise<void> {
  const inFlight = new Set<number>();
  const c = client as EventEmitter & { monitorCommands: boolean };
  c.monitorCommands = true;
  c.on('commandStarted', (e: { requestId: number }) => inFlight.add(e.requestId));
  const done = (e: { requestId: number }) => inFlight.delete(e.requestId);
  c.on('commandSucceeded', done);
  c.on('commandFailed', done);
  const deadline = Date.now() + 5_000;
  let quietSince = Date.now();
  while (Date.now() < deadline) {
    if (inFlight.size > 0) quietSince = Date.now();
    else if (Date.now() - quietSince >= 100) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/* With the database gone, the inbound listener answers 4xx so the sending server retries later. */
test('database unreachable → 451 (nothing acknowledged that was not stored)', async () => {
  const t = await startMailApp();
  try {
    await t.drain();
    // Background loops (deliveries, agenda) are stopped first: closing the connection under their
    // in-flight queries would reject those, which is not what this test is about. The SMTP path is.
    await t.app.ctx.deliveries.stop();
    await t.app.ctx.scheduler.stop();
    await quiet(t.app.ctx.db.connection.getClient());
    await t.app.ctx.db.connection.close();
    const started = Date.now();
    await expect(t.send({ from: 'ann@corp.example', to: 'support@help.example', subject: 'hello', text: 'are you there?' }))
      .rejects.toMatchObject({ responseCode: 451 });
    console.log(`451 after ${Date.now() - started} ms`);
  } finally {
    await t.close().catch(() => undefined);
  }
}, 60_000);
