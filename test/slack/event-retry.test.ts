import { slackRuntime } from '../../src/slack/index.js';
import { ANN, CHANNEL, JANE, describeWithContracts, eventually, shown, startSlack, type SlackHarness } from './support.js';

/*
 * A processing failure after Slack got its 200 must not drop the event: it is recorded, processed
 * again from the record, and Slack's own retries of it stay ignored (idempotent by event_id).
 * Payload shaped like Slack's published `message` event sample (Events API, message.channels, in a thread).
 */
describeWithContracts('slack events: recorded first, retried from the record after a failure', () => {
  let h: SlackHarness;
  let card: { channel: string; ts: string };
  beforeAll(async () => {
    h = await startSlack();
    await h.t.api('POST', '/tickets', { title: 'VPN', description: 'VPN drops', requester: { email: JANE.email } });
    await h.drain();
    card = (await h.ticket(1)).channelRefs.slack;
    await h.t.api('PUT', '/settings', { defaultReplyType: 'note' });
  });
  afterAll(async () => { await h?.close(); });

  test('users.info fails after the ack: the note is not lost, it is added once by the retry', async () => {
    const deps = slackRuntime.get(h.t.app.ctx)!;
    // Ann has not been seen in Slack yet: her first message needs users.info, which fails (429, not retried inline).
    h.stub.rateLimitNext('users.info', 1);
    const ts = '1800000001.000100';
    const ev = { type: 'message', channel: CHANNEL, channel_type: 'channel', user: ANN.id, text: 'checked the tunnel logs', ts, thread_ts: card.ts, event_ts: ts };
    const res = await h.slack.event(ev, { eventId: 'EvFAIL0001' });
    expect(res.status).toBe(200);
    const failed = await eventually(async () => {
      const rec = await deps.models.SlackEvent.findById('EvFAIL0001').lean();
      return rec?.state === 'failed' ? rec : null;
    }, 'failure recorded');
    expect(failed).toMatchObject({ attempts: 1, lastError: expect.stringMatching(/rate|429/i) });
    const notes = async () => ((await h.ticket(1)).entries as { text: string; kind: string }[]).filter((e) => e.text === 'checked the tunnel logs');
    expect(await notes()).toHaveLength(0);

    // Slack retries the delivery: still ignored (the record owns it).
    await h.slack.event(ev, { eventId: 'EvFAIL0001', retryNum: 1 });
    // Not due yet: nothing happens before the backoff.
    expect(await deps.events.retryDue(new Date(Date.now() - 1))).toBe(0);
    // Due: processed from the record, once.
    expect(await deps.events.retryDue(new Date(Date.now() + 5_000))).toBe(1);
    await eventually(async () => (await notes()).length === 1, 'note added by the retry');
    expect((await notes())[0]).toMatchObject({ kind: 'note' });
    expect(await deps.models.SlackEvent.findById('EvFAIL0001').lean()).toMatchObject({ state: 'done', attempts: 2 });
    expect(await deps.events.retryDue(new Date(Date.now() + 600_000))).toBe(0);
    await h.slack.event(ev, { eventId: 'EvFAIL0001', retryNum: 2 });
    await new Promise((r) => setTimeout(r, 200));
    expect(await notes()).toHaveLength(1);
    // An internal note stays internal on the retried path too.
    await h.drain();
    expect(shown((await h.t.api('GET', '/tickets/1?view=contact')).body.entries)).not.toContain('tunnel logs');
  });

  test('an event whose process died mid-way (state "processing", lease expired) is processed again', async () => {
    const deps = slackRuntime.get(h.t.app.ctx)!;
    const ts = '1800000002.000100';
    const body = {
      token: 'legacy', team_id: 'T0001', api_app_id: 'A0001', type: 'event_callback', event_id: 'EvDIED0001', event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ team_id: 'T0001', user_id: 'UBOT', is_bot: true }],
      event: { type: 'message', channel: CHANNEL, channel_type: 'channel', user: ANN.id, text: 'left behind by a crash', ts, thread_ts: card.ts, event_ts: ts },
    };
    await deps.models.SlackEvent.create({ _id: 'EvDIED0001', at: new Date(), state: 'processing', attempts: 1, lockedUntil: new Date(Date.now() - 1000), nextAttemptAt: new Date(Date.now() - 1000), body: JSON.stringify(body) });
    expect(await deps.events.retryDue()).toBe(1);
    await eventually(async () => ((await h.ticket(1)).entries as { text: string }[]).some((e) => e.text === 'left behind by a crash'), 'processed');
    expect(await deps.models.SlackEvent.findById('EvDIED0001').lean()).toMatchObject({ state: 'done' });
  });
});
