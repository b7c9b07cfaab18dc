import { ANN, JANE, TOM, describeWithContracts, eventually, shown, startSlack, type SlackHarness } from './support.js';

/**
 * "Working now" on the card ends when presence runs out, not at the ticket's next change: the
 * expiry sweep (the scheduler's presence:expire job) raises one presence.expired event per ticket,
 * and the card refresh it causes is coalesced with other changes.
 */
describeWithContracts('slack card: presence expiry refreshes the card', () => {
  let h: SlackHarness;
  const personId = async (email: string) => (await h.t.api('GET', '/people')).body.items.find((p: any) => p.email === email).id as string;
  const lastCard = () => h.stub.callsTo('chat.update').at(-1);
  const presenceRow = (call: { json: any } | undefined) => shown((call?.json.blocks ?? []).filter((b: any) => b.block_id === 'presence'));

  beforeAll(async () => {
    h = await startSlack({ SLACK_CARD_COALESCE_MS: '100' });
    await h.t.api('POST', '/tickets', { title: 'Mail bounces', description: 'x', requester: { email: JANE.email } });
    await h.drain();
  });
  afterAll(async () => { await h?.close(); });
  afterEach(() => { expect(h.stub.violations).toEqual([]); });

  test('two technicians leave: one event, the card drops both avatars without any other change', async () => {
    const service = h.t.app.ctx.service;
    const [tom, ann] = [await personId(TOM.email), await personId(ANN.email)];
    await service.markWorking(1, tom, 'slack');
    await service.markWorking(1, ann, 'slack');
    await h.t.api('PATCH', '/tickets/1', { priority: 'High' }); // a change, so the card shows them
    await h.drain();
    await eventually(() => presenceRow(lastCard()).includes(TOM.name) && presenceRow(lastCard()).includes(ANN.name), 'card shows both');
    const updatesBefore = h.stub.callsTo('chat.update').length;
    // The sweep runs after their three minutes have passed.
    expect(await service.expirePresence(new Date(Date.now() + 4 * 60_000))).toBe(2);
    await h.drain();
    await eventually(() => h.stub.callsTo('chat.update').length > updatesBefore, 'card refreshed after expiry');
    expect(presenceRow(lastCard())).not.toContain(TOM.name);
    expect(presenceRow(lastCard())).not.toContain(ANN.name);
    expect(h.stub.callsTo('chat.update').length).toBe(updatesBefore + 1);
    const events = await h.t.app.ctx.service.models.Event.find({ ticketNumber: 1, type: 'presence.expired' }).lean();
    expect(events).toHaveLength(1);
    expect(events[0]!.data.people).toEqual(expect.arrayContaining([tom, ann]));
    // Nothing about the ticket changed: no activity entry.
    expect(shown((await h.t.api('GET', '/tickets/1/activity')).body.items)).not.toContain('presence');
    // A second sweep finds nothing to announce.
    expect(await service.expirePresence()).toBe(0);
  });

  test('presence renewed before the sweep is kept and not announced', async () => {
    const service = h.t.app.ctx.service;
    const tom = await personId(TOM.email);
    await service.markWorking(1, tom, 'slack', 60_000);
    await service.markWorking(1, tom, 'slack'); // Tom acts again: three more minutes
    expect(await service.expirePresence(new Date(Date.now() + 2 * 60_000))).toBe(0);
    expect(shown(await service.presence(1))).toContain(tom);
  });
});
