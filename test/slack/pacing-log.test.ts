import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { WebClient } from '@slack/web-api';
import { isPaced, RateLimiter } from '../../src/notify/rate-limit.js';
import { SlackIdentity } from '../../src/slack/identity.js';
import { SlackClients } from '../../src/slack/installations.js';
import { SlackCards, slackNotifier } from '../../src/slack/notifier.js';
import { slackRateKeys } from '../../src/slack/pacing.js';
import { eventFromDoc } from '../../src/tickets/mappers.js';
import { CHANNEL, JANE, describeWithContracts, startSlack, type SlackHarness } from './support.js';

/*
 * A burst that has to wait for chat.update's allowance reschedules one delivery per change. The
 * Slack notifier logged a warning for each ("slack delivery failed"); waiting in line is routine:
 * each reschedule is logged at debug, and the hold once, when it is over, with the count.
 */
describeWithContracts('slack pacing log', () => {
  let h: SlackHarness;
  beforeAll(async () => { h = await startSlack(); });
  afterAll(async () => { await h?.close(); });

  test('deliveries rescheduled for chat.update\'s allowance log no warning, one line per hold with the count', async () => {
    const created = await h.t.api('POST', '/tickets', { title: 'Paced card', description: 'x', requester: { email: JANE.email } });
    const n = created.body.number as number;
    await h.drain(); // the card is posted by the app's own notifier
    const worker = h.t.app.ctx.deliveries;
    await worker.stop(); // the change's delivery is run below, by a notifier whose bucket is on hold
    try {
      expect((await h.t.api('PATCH', `/tickets/${n}`, { priority: 'High' })).status).toBe(200);
      const event = eventFromDoc((await h.t.app.ctx.db.models.Event.findOne({ ticketNumber: n, type: 'ticket.updated' }).lean())!);

      const lines: { level: number; msg: string; rescheduled?: number; bucket?: string }[] = [];
      const logger = pino({ level: 'debug' }, new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } }));
      const options = { slackApiUrl: h.stub.url, rejectRateLimitedCalls: true, retryConfig: { retries: 0 } };
      const limiter = new RateLimiter(0); // any wait is a PacedError (the delivery is rescheduled)
      const workspace = createHash('sha1').update('xoxb-test').digest('hex').slice(0, 12);
      const bucket = slackRateKeys(workspace, 'chat.update', {})[0]!.key;
      // Long enough that the eight deliveries below all fall inside the hold, even on a loaded machine.
      limiter.blocked(bucket, 3_000);
      const clients = new SlackClients(options, 'xoxb-test', undefined, null, limiter);
      const cards = new SlackCards(h.t.app.ctx.service, clients, new SlackIdentity(h.t.app.ctx.service, new WebClient('xoxb-test', options)), CHANNEL, logger);
      const notifier = slackNotifier(cards, logger);
      h.stub.reset();
      for (let i = 0; i < 8; i++) {
        const err = await notifier.deliver(event).then(() => null, (e: unknown) => e);
        expect(isPaced(err)).toBe(true); // handed to the worker as is: rescheduled, not a failed attempt
      }
      expect(h.stub.callsTo('chat.update')).toHaveLength(0);
      expect(lines.filter((l) => l.level >= 40)).toEqual([]);
      expect(lines.filter((l) => l.level === 20 && /rescheduled for the rate allowance/.test(l.msg))).toHaveLength(8);
      for (const end = Date.now() + 15_000; !lines.some((l) => l.level === 30) && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
      expect(lines.filter((l) => l.level >= 30)).toEqual([expect.objectContaining({ bucket, rescheduled: 8, msg: 'slack: 8 deliveries waited for the rate allowance' })]);
    } finally {
      worker.start();
    }
    await h.drain();
  });
});
