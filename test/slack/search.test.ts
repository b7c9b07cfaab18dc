import { JANE, TOM, describeWithContracts, shown, startSlack, type SlackHarness } from './support.js';

/**
 * `/ticket search` searches title and conversation of all tickets, best first, with the database's
 * text search — run here on the embedded FerretDB 2 / DocumentDB engine (or MONGODB_URI). The
 * command is shaped like Slack's sample (java-slack-sdk app-backend_slash-commands_SlashCommandPayload.json).
 */
describeWithContracts('slack /ticket search', () => {
  let h: SlackHarness;
  const search = async (words: string) => {
    const n = h.stub.callsTo('response_url').length;
    await h.slack.command('/ticket', `search ${words}`, { id: TOM.id });
    await h.stub.waitFor((c) => c.filter((x) => x.method === 'response_url').length > n, `search ${words}`);
    const answer = h.stub.callsTo('response_url').at(-1)!;
    return { text: answer.json.text as string, order: [...shown(answer.json.blocks).matchAll(/#(\d+) /g)].map((m) => Number(m[1])) };
  };

  beforeAll(async () => {
    h = await startSlack();
    const ticket = (title: string, description: string) => h.t.api('POST', '/tickets', { title, description, requester: { email: JANE.email } });
    await ticket('Printer offline on floor 3', 'The printer shows an error');           // #1: title and description
    await ticket('Mail bounces', 'All my mail bounces');                                  // #2
    await h.t.api('POST', '/tickets/2/entries', { kind: 'reply', text: 'Could the printer driver be sending it?', author: { email: TOM.email } });
    await ticket('VPN drops', 'every hour');                                              // #3
    await ticket('Café wifi portal', 'login page loops');                                 // #4
    await h.t.api('POST', '/tickets/3/entries', { kind: 'note', text: 'maybe the printers VLAN, internal only zebra', author: { email: TOM.email } });
    await h.drain();
    // Enough newer tickets that the newest-100 title scan this replaces would never have seen #1–#3.
    // Their cards are not waited for: 105 posts to one channel take 105 s at Slack's one message
    // per second per channel, and the search does not need them.
    for (let i = 0; i < 105; i++) await ticket(`Filler ${i}`, 'nothing to see');
  }, 120_000);
  afterAll(async () => { await h?.close(); });
  afterEach(() => { expect(h.stub.violations).toEqual([]); });

  test('finds words in titles and in the conversation of old tickets, title matches first', async () => {
    const r = await search('printer');
    expect(r.text).toBe('3 tickets match "printer"');
    expect(r.order[0]).toBe(1);
    expect(new Set(r.order)).toEqual(new Set([1, 2, 3]));
  });

  test('word forms match (stemming): "printers" finds "printer"', async () => {
    expect((await search('printers')).order).toContain(1);
  });

  test('accents do not matter: "cafe" finds "Café" (stored, accent-folded word lists)', async () => {
    expect((await search('cafe')).order).toEqual([4]);
    expect((await search('CAFÉ portal')).order).toEqual([4]);
  });

  test('nothing found is said plainly', async () => {
    expect((await search('kangaroo')).text).toBe('0 tickets match "kangaroo"');
  });

  test('end users\' searches never match internal notes', async () => {
    const jane = (await h.t.api('GET', '/people')).body.items.find((p: any) => p.email === JANE.email).id;
    const service = h.t.app.ctx.service;
    expect((await service.searchTickets('zebra')).items.map((t) => t.number)).toEqual([3]);
    expect((await service.searchTickets('zebra', { participant: jane })).items).toEqual([]);
    expect((await service.searchTickets('driver', { participant: jane })).items.map((t) => t.number)).toEqual([2]);
    // Words only a note holds (VLAN) find nothing for her; with a public word too, only the public match counts.
    expect((await service.searchTickets('VLAN', { participant: jane })).items).toEqual([]);
    expect((await service.searchTickets('printers VLAN', { participant: jane })).items.map((t) => t.number)).not.toContain(3);
    expect((await service.searchTickets('printers VLAN')).items[0]!.number).toBe(3);
  });

  test('tickets written before the word lists get them from the backfill job', async () => {
    const service = h.t.app.ctx.service;
    await service.models.Ticket.collection.updateOne({ number: 4 }, { $unset: { searchWords: '', publicSearchWords: '' } });
    expect((await search('cafe')).order).toEqual([]); // $text alone does not fold accents here
    expect(await service.backfillSearchWords()).toBe(1);
    expect(await service.backfillSearchWords()).toBe(0);
    expect((await search('cafe')).order).toEqual([4]);
  });

  test('with no text index at all (an engine that refuses $text) the word lists still answer, ranked', async () => {
    const models = h.t.app.ctx.service.models;
    await models.Ticket.collection.dropIndex('title_text');
    await models.Entry.collection.dropIndex('text_text');
    const r = await search('printer');
    expect(r.order[0]).toBe(1);
    expect(new Set(r.order)).toEqual(new Set([1, 2, 3]));
  });
});
