import { emailBridgeOf, emailModule } from '../../src/email/module.js';
import { JANE, TOM, describeWithContracts, eventually, shown, startSlack, type SlackHarness } from './support.js';

/*
 * "Show full message" (issue #13): an emailed entry in the card's thread carries a button that
 * opens the whole message (quote and signature included) for technicians, through the Slack stand-in.
 */
describeWithContracts('slack: show the full emailed message', () => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await startSlack({ INBOUND_SMTP_ENABLED: 'false', MAIL_FROM: 'Helpdesk <support@help.example>' }, [emailModule]);
  });
  afterAll(async () => { await h?.close(); });
  afterEach(() => { expect(h.stub.violations).toEqual([]); });

  test('the emailed entry has the button; pressing it opens the full text; typed entries have none', async () => {
    const mail = (id: string, extra: string[], body: string[]) => Buffer.from([
      `From: Jane <${JANE.email}>`, 'To: support@help.example', 'Subject: Scanner broken', `Message-ID: <${id}>`, ...extra,
      'Content-Type: text/plain; charset=utf-8', '', ...body, '',
    ].join('\r\n'));
    const { pipeline } = emailBridgeOf(h.t.app.ctx);
    const res = await pipeline.ingest(mail('scan-1@corp.example', [], ['The scanner is broken.']), { via: 'pipe' });
    expect(res.status).toBe('created');
    await h.t.api('POST', `/tickets/${res.ticketNumber}/entries`, { kind: 'reply', text: 'Typed answer', author: { email: TOM.email } });
    const answer = await pipeline.ingest(mail('scan-2@corp.example', ['In-Reply-To: <scan-1@corp.example>'], [
      'The scanner shows error E7.', '', 'Regards,', 'Jane Doe', 'Facilities',
      '', 'On Mon, 5 Jan 2026 at 10:00, Helpdesk <support@help.example> wrote:', '> Old question about the scanner',
    ]), { via: 'pipe' });
    expect(answer.status).toBe('appended');
    await h.drain();
    const ticket = await h.ticket(res.ticketNumber!);
    expect(ticket.entries.at(-1).text).toBe('The scanner shows error E7.');
    const posts = h.stub.callsTo('chat.postMessage');
    const withButton = posts.filter((c) => shown(c.json.attachments ?? []).includes('entry_full_message'));
    expect(withButton).toHaveLength(1);
    expect(shown(withButton[0]!.json.attachments)).toContain('The scanner shows error E7.');
    const button = withButton[0]!.json.attachments[0].blocks.find((b: any) => b.type === 'actions').elements[0];
    expect(button.value).toBe(`${res.ticketNumber}|${ticket.entries.at(-1).id}`);

    const ref = ticket.channelRefs.slack;
    await h.slack.blockAction(TOM.id, { action_id: 'entry_full_message', type: 'button', value: button.value }, ref);
    await eventually(() => h.stub.callsTo('views.open').length === 1, 'views.open');
    const view = h.stub.callsTo('views.open')[0]!.json.view;
    const text = shown(view.blocks);
    expect(text).toContain('Regards,');
    expect(text).toContain('> Old question about the scanner');
    // An end user pressing it gets nothing opened.
    await h.slack.blockAction(JANE.id, { action_id: 'entry_full_message', type: 'button', value: button.value }, ref);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.stub.callsTo('views.open')).toHaveLength(1);
  });
});
