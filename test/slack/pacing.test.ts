import { readFileSync } from 'node:fs';
import path from 'node:path';
import { defaultContractsDir, slackLimitFor, wholeWindowShare } from '../../bench/lib/standins.js';
import { NOTIFIER_METHOD_TIERS, slackRateKeys, TIER_PER_MINUTE } from '../../src/slack/pacing.js';
import { JANE, TOM, describeWithContracts, eventually, startSlack, type SlackHarness } from './support.js';

/*
 * Slack calls of the notifiers are paced by the published tiers, per workspace and method, and
 * chat.postMessage per channel, in one limiter for the whole process: a backlog of thread posts
 * drains at the allowed rate against the Web API stand-in enforcing those limits (it validates
 * every call against the published spec), no 429 is left unhonoured, and the requester's DM gets
 * the replies and never a note.
 */
describeWithContracts('slack outbound pacing', () => {
  let h: SlackHarness;
  const CHANNELS = ['C0PACEA', 'C0PACEB', 'C0PACEC'];
  // Enough posts per channel that one second lost to a loaded machine still leaves ≥ 90 % (9 of 10).
  const REPLIES = 9;

  beforeAll(async () => { h = await startSlack(); });
  afterAll(async () => { await h?.close(); });
  afterEach(() => { expect(h.stub.violations).toEqual([]); });

  test('the pacing table is the published tier list (the one the rate-limited stand-in reads)', () => {
    const published = JSON.parse(readFileSync(path.join(defaultContractsDir(), 'slack/web-api-methods-and-tiers.json'), 'utf8')) as { methods: { name: string; tier: string | null }[] };
    for (const [method, tier] of Object.entries(NOTIFIER_METHOD_TIERS)) {
      expect(`${method}: ${published.methods.find((m) => m.name === method)?.tier}`).toBe(`${method}: ${tier}`);
      const keys = slackRateKeys('W', method, { channel: 'C1' });
      expect({ method, windows: keys[0]!.windows }).toEqual({ method, windows: slackLimitFor(method, defaultContractsDir()).limits });
    }
    expect(TIER_PER_MINUTE.Tier3).toBe(50);
    // chat.postMessage per channel, the rest per workspace and method.
    expect(slackRateKeys('W', 'chat.postMessage', { channel: 'C1' })[0]!.key).not.toBe(slackRateKeys('W', 'chat.postMessage', { channel: 'C2' })[0]!.key);
    expect(slackRateKeys('W', 'chat.update', { channel: 'C1' })[0]!.key).toBe(slackRateKeys('W', 'chat.update', { channel: 'C2' })[0]!.key);
  });

  test('a backlog of thread posts drains at ≥ 90 % of one per second per channel; no 429 unhonoured; the DM gets replies, never notes', async () => {
    await h.t.api('PUT', '/settings', { extra: { slackChannelRoutes: CHANNELS.map((channel, i) => ({ customer: `Pace${i}`, channel })) } });
    const numbers: number[] = [];
    for (let i = 0; i < CHANNELS.length; i++) {
      const r = await h.t.api('POST', '/tickets', { title: `Paced ${i}`, description: 'x', requester: { email: JANE.email }, customer: `Pace${i}` });
      numbers.push(r.body.number);
    }
    await h.drain();
    // Jane chats about the first ticket (Start chat): public replies are relayed to her DM.
    const card = (await h.ticket(numbers[0]!)).channelRefs.slack;
    await h.slack.blockAction(TOM.id, { action_id: 'ticket_more', type: 'overflow', selected_option: { value: `${numbers[0]}|chat` } }, card);
    await eventually(async () => (await h.ticket(numbers[0]!)).channelRefs.slackDm, 'chat DM opened');
    await h.drain();

    const worker = h.t.app.ctx.deliveries;
    await worker.stop();
    for (const n of numbers) {
      for (let k = 0; k < REPLIES; k++) {
        await h.t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: `Answer ${k} on #${n}`, author: { email: TOM.email } });
        if (k === 1) await h.t.api('POST', `/tickets/${n}/entries`, { kind: 'note', text: `SECRET-NOTE ${n}`, author: { email: TOM.email } });
      }
    }
    h.stub.reset();
    for (const method of ['chat.postMessage', 'chat.update']) {
      const l = slackLimitFor(method, defaultContractsDir());
      h.stub.rateLimit(method, l.limits, l.perChannel);
    }
    worker.start();
    await worker.drain(60_000);

    expect(h.stub.retryAfterIgnored).toBe(0);
    const posts = h.stub.callsTo('chat.postMessage').filter((c) => c.status !== 429);
    for (const [i, channel] of CHANNELS.entries()) {
      const thread = posts.filter((c) => c.args.channel === channel && c.args.thread_ts);
      expect(thread).toHaveLength(REPLIES + 1); // every reply and the note, each once
      const used = wholeWindowShare(thread.map((c) => c.at), 1, 1000);
      console.info(`slack pacing ${channel}: ${thread.length} thread posts, ${used?.calls} in ${used?.windows} whole seconds (${Math.round((used?.share ?? 0) * 100)} %)`);
      expect(used).not.toBeNull();
      expect(used!.windows).toBeGreaterThanOrEqual(REPLIES - 1); // the limit held the posts back
      expect(used!.share).toBeGreaterThanOrEqual(0.9);
      // Every card ends on its ticket's last answer.
      const last = h.stub.callsTo('chat.update').filter((c) => c.status !== 429 && c.args.channel === channel).at(-1);
      expect(JSON.stringify(last?.json.blocks ?? [])).toContain(`Answer ${REPLIES - 1} on #${numbers[i]}`);
    }
    const dm = posts.filter((c) => c.args.channel === `D${JANE.id}`).map((c) => c.args.text).join('\n');
    expect(dm).toContain(`Answer ${REPLIES - 1} on #${numbers[0]}`);
    expect(dm).not.toContain('SECRET-NOTE');
  }, 90_000);
});
