import { ANN, JANE, TOM, describeWithContracts, shown, startSlack, type SlackHarness } from './support.js';

/**
 * A technician who DMs the bot is a technician there: "my tickets", "new …", a ticket number are
 * commands (src/domain/tech-commands.ts), never an end user's chat ticket. The DM events are shaped
 * like Slack's message event sample (java-slack-sdk events_MessagePayload.json, channel_type "im").
 */
describeWithContracts('slack: a technician\'s DM with the bot', () => {
  let h: SlackHarness;
  let seq = 0;
  const dm = (user: string, text: string) => {
    const ts = `1820000000.${String(++seq).padStart(6, '0')}`;
    return h.slack.event({ type: 'message', channel: `D${user}`, channel_type: 'im', user, text, ts, event_ts: ts });
  };
  const answers = () => h.stub.callsTo('chat.postMessage').filter((c) => c.args.channel === `D${TOM.id}`);
  const nextAnswer = async (user: string, text: string) => {
    const before = answers().length;
    await dm(user, text);
    await h.stub.waitFor(() => answers().length > before, `answer to "${text}"`);
    return answers().at(-1)!;
  };

  beforeAll(async () => {
    h = await startSlack();
    const mine = await h.t.api('POST', '/tickets', { title: 'Mail bounces', description: 'x', requester: { email: JANE.email }, assignee: { email: TOM.email } });
    await h.t.api('POST', '/tickets', { title: 'Projector dead', description: 'x', requester: { email: JANE.email }, assignee: { email: ANN.email } });
    expect(mine.status).toBe(201);
    await h.drain();
  });
  afterAll(async () => { await h?.close(); });
  afterEach(() => { expect(h.stub.violations).toEqual([]); });

  test('"my tickets" lists the technician\'s open tickets, not others\'', async () => {
    const a = await nextAnswer(TOM.id, 'my tickets');
    expect(shown(a.json.blocks)).toContain('#1 Mail bounces');
    expect(shown(a.json.blocks)).not.toContain('Projector');
  });

  test('a ticket number shows that ticket\'s card', async () => {
    const a = await nextAnswer(TOM.id, '#2');
    expect(shown(a.json.blocks)).toContain('#2 Projector dead');
  });

  test('"new …" opens a ticket with the technician as requester and creator; no chat ticket, no offer', async () => {
    const count = (await h.t.api('GET', '/tickets')).body.items.length;
    const a = await nextAnswer(TOM.id, 'new Badge reader at door 3 is broken\nIt beeps red for everyone.');
    expect(a.args.text).toMatch(/^Opened ticket #\d+: Badge reader at door 3 is broken$/);
    const list = (await h.t.api('GET', '/tickets')).body.items;
    expect(list.length).toBe(count + 1);
    const t = await h.ticket(Number(/#(\d+)/.exec(a.args.text)![1]));
    expect(t.requester.email).toBe(TOM.email);
    expect(t.description).toBe('It beeps red for everyone.');
    expect(t.channelRefs.slackDm).toBeUndefined();
    expect(shown(h.stub.callsTo('chat.postMessage'))).not.toContain('start_chat_offer');
  });

  test('anything else gets the command help, not an offer to open a chat ticket', async () => {
    const count = (await h.t.api('GET', '/tickets')).body.items.length;
    const a = await nextAnswer(TOM.id, 'hello there');
    expect(a.args.text).toContain('my tickets');
    expect(shown(a.json)).not.toContain('Open a chat');
    await new Promise((r) => setTimeout(r, 200));
    expect((await h.t.api('GET', '/tickets')).body.items.length).toBe(count);
  });

  test('an end user\'s DM is still an end user\'s: offered a chat ticket', async () => {
    h.stub.reset();
    await dm(JANE.id, 'my tickets');
    await h.stub.waitFor((c) => c.some((x) => x.method === 'chat.postMessage' && x.args.channel === `D${JANE.id}`), 'offer');
    const offer = h.stub.callsTo('chat.postMessage').find((x) => x.args.channel === `D${JANE.id}`)!;
    expect(shown(offer.json.blocks)).toContain('Open a chat');
  });
});
