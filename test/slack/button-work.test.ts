import { JANE, TOM, describeWithContracts, eventually, shown, startSlack, type SlackHarness } from './support.js';

/*
 * The work after a card button's ack shares the event loop with the acks of the requests arriving
 * meanwhile, and most of its CPU is the database driver's: so a press makes few database commands.
 * Counted with the driver's command monitoring (DB_COMMAND_COUNTS) on the real database. A press
 * renders the card once (the change's own refresh, which also shows the technician, marked working
 * before the change) and never reads the conversation: the card shows none, and the button needs
 * no answer. A press that changes nothing, by a technician the card already shows, renders nothing.
 */
describeWithContracts('slack card buttons: database work per press', () => {
  let h: SlackHarness;
  let log: { name: string; coll: string }[] = [];
  const CARD_TS = '1700000000.000100';

  const press = (n: number) => h.slack.blockAction(TOM.id, { action_id: 'ticket_assign_me', type: 'button', value: String(n) }, { channel: 'C0TICKETS', ts: CARD_TS });
  /** Waits until no command was sent for `quietMs` (the press's work, its deliveries and card refresh are done). */
  const quiet = async (quietMs = 400) => {
    await h.drain();
    for (let seen = -1; seen !== log.length;) {
      seen = log.length;
      await new Promise((r) => setTimeout(r, quietMs));
    }
  };
  const count = (name: string, coll: string, of = log) => of.filter((c) => c.name === name && c.coll === coll).length;
  const cardOf = (n: number) => h.stub.callsTo('chat.update').filter((c) => shown(c.json.text).includes(`#${n}`));

  beforeAll(async () => {
    h = await startSlack({ DB_COMMAND_COUNTS: '1', SLACK_CARD_COALESCE_MS: '0' });
    h.t.app.ctx.db.connection.getClient().on('commandStarted', (e: { commandName: string; command: Record<string, unknown> }) => {
      // The test's own drain() asks the deliveries whether any is pending: not the press's work.
      if (e.commandName !== 'aggregate' || e.command.aggregate !== 'deliveries') log.push({ name: e.commandName, coll: String(e.command[e.commandName]) });
    });
    for (const title of ['VPN drops', 'Printer jams']) {
      await h.t.api('POST', '/tickets', { title, description: 'x', requester: { email: JANE.email } });
    }
    // Conversation on ticket 1, which the card never shows.
    for (let i = 0; i < 5; i++) await h.t.api('POST', '/tickets/1/entries', { kind: 'reply', text: `answer ${i}`, author: { email: JANE.email } });
    await eventually(() => h.stub.callsTo('chat.postMessage').filter((c) => !c.json.thread_ts).length >= 2, 'both cards posted');
    // Tom's Slack identity is looked up (users.info) and linked on his first press: not counted.
    await press(2);
    await eventually(async () => (await h.ticket(2)).assignee?.email === TOM.email, 'warm-up press done');
    await quiet();
  });
  afterAll(async () => { await h?.close(); });
  afterEach(() => { expect(h.stub.violations).toEqual([]); });

  test('"Assign to me": one card render, no conversation read, a bounded number of commands', async () => {
    log = [];
    const updates = cardOf(1).length;
    expect((await press(1)).status).toBe(200);
    await eventually(() => cardOf(1).length > updates && shown(cardOf(1).at(-1)!.json.blocks).includes(TOM.name), 'card shows Tom');
    await quiet();
    const press1 = [...log];
    expect((await h.ticket(1)).assignee?.email).toBe(TOM.email);
    // Each card render reads who is working on the ticket once.
    expect(count('find', 'presence', press1)).toBe(1);
    expect(count('find', 'entries', press1)).toBe(0);
    expect(cardOf(1).length).toBe(updates + 1);
    expect(shown(cardOf(1).at(-1)!.json.blocks)).toContain('working on this');
    // Identity, presence, actor, ticket, write; the dispatcher's activity, event, delivery and done
    // mark; the delivery's claim, batch read and done; the render's ticket, people, presence and its
    // people, technicians; the card's hash (18 here; 29 before this change, with two renders and three conversation reads).
    expect(press1.length).toBeLessThanOrEqual(18);
  });

  test('a press that changes nothing, by a technician already shown, renders nothing', async () => {
    log = [];
    const updates = h.stub.callsTo('chat.update').length;
    expect((await press(1)).status).toBe(200);
    await eventually(() => log.some((c) => c.coll === 'presence' && c.name !== 'find'), 'presence renewed');
    await quiet();
    expect(count('find', 'presence')).toBe(0);
    expect(count('find', 'entries')).toBe(0);
    expect(h.stub.callsTo('chat.update').length).toBe(updates);
    // The identity, the presence renewal, the actor and the ticket (nothing to write).
    expect(log.length).toBeLessThanOrEqual(4);
    // The same counts by name, as /metrics shows them (DB_COMMAND_COUNTS).
    expect(h.t.app.ctx.db.commandCounts()?.findAndModify).toBeGreaterThanOrEqual(1);
  });
});
