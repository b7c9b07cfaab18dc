import { createApp } from '../../src/app.js';
import { createLogger } from '../../src/logger.js';
import { teamsModule } from '../../src/teams/index.js';
import type { DomainEvent } from '../../src/tickets/types.js';
import { startTestApp, testConfig, testMongoUri, type TestApp } from '../support/db.js';
import { conversationUpdate, memberOf, postActivity, teamsUser } from './kit/activities.js';
import { ConnectorStandIn } from './kit/connector.js';
import { contractTest, skipReason } from './kit/contracts.js';

/*
 * A restarted instance records events before modules' start() runs: it completes a dead instance's
 * half-done changes (dispatcher sweep), runs agenda jobs (time rules) and answers requests. Teams
 * wants events only once it knows it is in use (a stored conversation); when that was first asked in
 * start(), an event recorded in between got no Teams delivery row, and its thread reply never went out
 * (multi-instance-channels: a time rule's note missing from the Teams thread, 0 copies, nothing pending).
 */
const itc = contractTest('teams in use before start');
let connector: ConnectorStandIn;
let first: TestApp | null = null;
afterAll(async () => {
  await first?.close().catch(() => undefined);
  await connector?.stop();
});

itc(`an instance started on a database where Teams is in use wants Teams deliveries before its modules' start()${skipReason}`, async () => {
  connector = await new ConnectorStandIn().start();
  const tom = teamsUser('Tom Tech', 'tom@it.example');
  connector.directory.push(memberOf(tom));
  first = await startTestApp({ modules: [teamsModule] });
  expect((await postActivity(first.url, conversationUpdate(connector.url, tom, 'channel'))).status).toBeLessThan(300);

  // Another instance on the same database, set up but not started (what it is while sweeping and running
  // jobs); the first one made the indexes.
  const second = await createApp(testConfig(), { mongoUri: testMongoUri(), dbName: first.dbName, logger: createLogger('silent'), modules: [teamsModule], workers: false, indexes: false });
  try {
    const event = { id: 'e1', type: 'entry.added', ticketNumber: 1, data: { entryId: 'x' }, actor: { kind: 'system', name: 'rule' }, at: new Date() } as unknown as DomainEvent;
    expect(second.ctx.notifiers.channelsFor(event)).toContain('teams');
  } finally {
    // agenda readies its collection in the background; closing under it would interrupt that.
    await second.ctx.scheduler.agenda.ready.catch(() => undefined);
    await second.stop().catch(() => undefined);
  }
});
