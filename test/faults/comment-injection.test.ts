import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { CHANNEL, JANE, TOM, ANN, describeWithContracts, eventually, startSlack, type SlackHarness } from '../slack/support.js';
import { refresh } from '../teams/kit/activities.js';
import { contractsDir, contractTest, repoRoot, skipReason } from '../teams/kit/contracts.js';
import { startTeams, type TeamsHarness } from '../teams/kit/harness.js';

/*
 * Hostile comments in cards. A script tag or event handler written by an end user never runs in
 * a Teams Adaptive Card (rendered by the adaptivecards renderer in Chromium, as Teams does), and
 * in Slack's Block Kit mrkdwn it is escaped (& < >) so it can neither ping (<!channel>, <@U…>)
 * nor forge links. The portal's own browser test (test/portal/browser.test.ts) covers scripts,
 * event handlers, SVG and javascript: links in comments and HTML mail on the portal page.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PAYLOADS = [
  `<script>window.__xss='script'</script>`,
  `<img src=x onerror="window.__xss='img'">`,
  `<svg onload="window.__xss='svg'"></svg>`,
  `"><iframe srcdoc="<script>parent.__xss='iframe'</script>"></iframe>`,
  `[click me](javascript:window.__xss='mdlink')`,
  `<a href="javascript:window.__xss='a'">link</a>`,
  `<!channel> <!here> <@${ANN.id}> <https://evil.example|your bank> & <b>bold</b>`,
];
const hostile = (tag: string) => `${tag}: ${PAYLOADS.join(' ')}`;

describeWithContracts('Slack cards: end-user text is escaped mrkdwn', () => {
  let h: SlackHarness;
  afterAll(async () => { await h?.close(); });

  test('title, description, replies and DMs from end users are escaped (& < >) in every mrkdwn text: no <!channel>, <@U…>, forged link or tag', async () => {
    h = await startSlack();
    await h.t.api('POST', '/tickets', { title: hostile('INJ-title').slice(0, 400), description: hostile('INJ-desc'), requester: { email: JANE.email } });
    await h.drain();
    const card = (await h.ticket(1)).channelRefs.slack as { channel: string; ts: string };
    await h.t.api('POST', '/tickets/1/entries', { kind: 'reply', text: hostile('INJ-reply'), author: { email: JANE.email } });
    await h.slack.blockAction(TOM.id, { action_id: 'ticket_more', type: 'overflow', selected_option: { value: '1|chat' } }, card);
    await eventually(async () => (await h.ticket(1)).channelRefs.slackDm, 'chat DM opened');
    await h.slack.event({ type: 'message', channel: `D${JANE.id}`, channel_type: 'im', user: JANE.id, text: hostile('INJ-dm'), ts: '1830000000.000001' });
    await eventually(async () => (await h.ticket(1)).entries.some((e: any) => e.text.startsWith('INJ-dm')), 'DM stored');
    await h.drain();
    await h.stub.waitFor((c) => c.some((x) => JSON.stringify(x.json).includes('INJ-dm')), 'DM mirrored to the thread');

    // Every mrkdwn (and top-level text) string the app sent that carries end-user text.
    const texts: string[] = [];
    const walk = (x: unknown): void => {
      if (Array.isArray(x)) return x.forEach(walk);
      if (x && typeof x === 'object') {
        const o = x as Record<string, unknown>;
        if (o.type === 'mrkdwn' && typeof o.text === 'string') texts.push(o.text);
        Object.values(o).forEach(walk);
      }
    };
    for (const call of h.stub.calls.filter((c) => c.method.startsWith('chat.'))) {
      walk(call.json);
      if (typeof call.args.text === 'string') texts.push(call.args.text);
    }
    const carrying = texts.filter((s) => /INJ-(title|desc|reply|dm)/.test(s));
    const seen = new Set(carrying.map((s) => /INJ-(title|desc|reply|dm)/.exec(s)![0]));
    expect([...seen].sort()).toEqual(expect.arrayContaining(['INJ-dm', 'INJ-reply', 'INJ-title']));
    for (const s of carrying) {
      expect(s).not.toMatch(/<!channel>|<!here>|<!everyone>/);
      expect(s).not.toContain(`<@${ANN.id}>`);
      expect(s).not.toContain('<https://evil.example');
      expect(s).not.toMatch(/<script|<img|<svg|<iframe|<a href|<b>/);
      // A bare & from the user is sent as &amp; (Slack's escaping); only &amp; &lt; &gt; remain.
      expect(s.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
    }
    expect(h.stub.violations).toEqual([]);
  }, 60_000);
});

describe('Teams cards rendered in Chromium', () => {
  let h: TeamsHarness;
  let browser: Browser | null = null;
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  contractTest('comment injection: Teams card')(`script tags, event handlers and javascript: links in comments never run in the rendered Adaptive Card${skipReason}`, async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH; this test must not be skipped`);
    h = await startTeams();
    const tom = await h.person('Tom Tech', 'tom@it.example');
    await h.person('Jane <img src=x onerror="window.__xss=\'name\'">', 'jane@corp.example', ['contact']);
    const n = (await h.t.api('POST', '/tickets', { title: hostile('INJ-title').slice(0, 400), description: hostile('INJ-desc'), requester: { email: 'jane@corp.example' } })).body.number;
    await h.t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: hostile('INJ-reply'), author: { email: 'jane@corp.example' } });
    await h.t.api('POST', `/tickets/${n}/entries`, { kind: 'note', text: hostile('INJ-note'), author: { email: 'tom@it.example' } });
    const card = (await h.post(refresh(h.connector.url, tom, n))).body.value;
    expect(JSON.stringify(card)).toContain('INJ-');

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    const page = await browser.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
    await page.setContent('<!doctype html><html><head><meta charset="utf-8"></head><body><div id="root"></div></body></html>');
    await page.addScriptTag({ path: path.join(repoRoot, 'node_modules/adaptivecards/dist/adaptivecards.min.js') });
    const hostConfig = JSON.parse(readFileSync(path.join(contractsDir, 'adaptivecards', 'hostconfig.microsoft-teams-light.json'), 'utf8'));
    await page.evaluate(({ card, hostConfig }) => {
      const AC = (window as any).AdaptiveCards;
      // The renderer as the existing card test uses it (no host markdown step: markdown-it is not a dependency).
      const ac = new AC.AdaptiveCard();
      ac.hostConfig = new AC.HostConfig(hostConfig);
      ac.parse(card, new AC.SerializationContext());
      document.getElementById('root')!.appendChild(ac.render());
    }, { card, hostConfig });
    // Give handlers (onerror, onload) a moment to fire, then click every link the card shows.
    await page.waitForTimeout(300);
    const text = await page.locator('#root').innerText();
    expect(text).toContain('INJ-reply');
    const dangerous = await page.evaluate(() => {
      const root = document.getElementById('root')!;
      const found: string[] = [];
      root.querySelectorAll('*').forEach((el) => {
        const tag = el.tagName.toLowerCase();
        if (['script', 'iframe', 'img', 'svg', 'object', 'embed'].includes(tag) && !el.closest('.ac-image')) found.push(`<${tag}>`);
        for (const a of Array.from(el.attributes)) {
          if (/^on/i.test(a.name)) found.push(`${tag}[${a.name}]`);
          if (/^\s*javascript:/i.test(a.value)) found.push(`${tag}[${a.name}=javascript:]`);
        }
      });
      return found;
    });
    expect(dangerous).toEqual([]);
    expect(await page.evaluate(() => (window as unknown as { __xss?: string }).__xss)).toBeUndefined();
    expect(dialogs).toEqual([]);
  }, 60_000);
});
