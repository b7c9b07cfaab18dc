import type { Browser, BrowserContext, Page } from 'playwright-core';
import { aiModule } from '../../src/ai/module.js';
import { automationsModule } from '../../src/automations/module.js';
import { consoleRuntimeOf } from '../../src/console/module.js';
import { emailModule } from '../../src/email/module.js';
import { slackModule } from '../../src/slack/index.js';
import { startOpenAiStandIn } from '../ai/openai-standin.js';
import { SlackSigner, SlackWebApiStub } from '../slack/kit/index.js';
import { docScreenshot, launchChromium, outbox, signInBrowser, startConsoleApp, waitForMail, watchedPage, type ConsoleTestApp } from './support.js';

/*
 * The console in a real browser (Debian's chromium via playwright-core), on the real app with the
 * email, Slack (Web API stand-in validated against the published contracts) and AI (local
 * OpenAI-compatible stand-in) modules. Flows run in order on one database, as a new install would
 * be used: setup link → admin, then technicians work tickets.
 */

const SECRET = 'test-signing-secret-0123456789';
const CHANNEL = 'C0TICKETS';
const TOM = { id: 'U0TOM', email: 'tom@it.example', name: 'Tom Tech' };
const ANN = { id: 'U0ANN', email: 'ann@it.example', name: 'Ann Admin' };
const JANE = { id: 'U0JANE', email: 'jane@corp.example', name: 'Jane Doe' };
const NOTE = 'Secret: the vendor contract ends in March';
const AI_DRAFT = 'Hi Jane, the VPN gateway was replaced; please reconnect. Tom';

let t: ConsoleTestApp;
let browser: Browser;
let stub: SlackWebApiStub;
let ai: Awaited<ReturnType<typeof startOpenAiStandIn>>;
const seen = new Set<string>();
const drain = () => t.app.ctx.deliveries.drain();
const service = () => t.app.ctx.service;

beforeAll(async () => {
  browser = await launchChromium();
  stub = new SlackWebApiStub();
  await stub.start();
  for (const u of [TOM, ANN, JANE]) stub.addUser(u);
  ai = await startOpenAiStandIn(() => ({ content: AI_DRAFT }));
  t = await startConsoleApp({
    modules: [emailModule, slackModule, aiModule, automationsModule],
    env: {
      SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: SECRET, SLACK_TICKETS_CHANNEL: CHANNEL, SLACK_API_URL: stub.url,
      SLACK_UNDO_SECONDS: '0', SLACK_CARD_COALESCE_MS: '0',
      OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: ai.url, OPENAI_MODEL: 'standin', AI_SENTIMENT: 'false',
      CONSOLE_PRESENCE_POLL_MS: '300',
    },
  });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  await stub?.stop();
  await ai?.close();
});

afterEach(() => {
  expect(stub.violations).toEqual([]);
});

const noHorizontalScroll = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

/** Each technician signs in by link once (the sign-in flow itself is a test); later pages reuse the session. */
const signedIn = new Map<string, Awaited<ReturnType<BrowserContext['storageState']>>>();
async function technicianPage(email: string, opts: { locale?: string; viewport?: { width: number; height: number } } = {}) {
  const storageState = signedIn.get(email);
  const context = await browser.newContext({ locale: opts.locale ?? 'en-GB', viewport: opts.viewport ?? { width: 1280, height: 900 }, storageState });
  context.setDefaultTimeout(10_000);
  const w = await watchedPage(context);
  if (storageState) await w.page.goto(`${t.url}/console`);
  else {
    await signInBrowser(t, w.page, email, seen);
    signedIn.set(email, await context.storageState());
  }
  return { context, ...w };
}

test('first run: the printed setup link creates the first admin in the browser', async () => {
  const url = t.logs.map((l) => l.setupUrl).find((u): u is string => typeof u === 'string');
  expect(url).toBe(consoleRuntimeOf(t.app.ctx)!.setupUrl);
  const context = await browser.newContext();
  const { page, dialogs, errors } = await watchedPage(context);
  await page.goto(url!);
  await page.getByLabel('Name').fill(ANN.name);
  await page.getByLabel('Email address').fill(ANN.email);
  await page.getByRole('button', { name: 'Create administrator' }).click();
  await page.waitForURL(`${t.url}/console`);
  await expect(page.getByRole('link', { name: 'Admin' }).isVisible()).resolves.toBe(true);
  expect((await service().people.findByEmail(ANN.email))!.roles.sort()).toEqual(['admin', 'technician']);
  // The link is used up.
  const again = await (await browser.newContext()).newPage();
  expect((await again.goto(url!))!.status()).toBe(410);
  expect(dialogs).toEqual([]);
  expect(errors).toEqual([]);
  await context.close();

  // The rest of the install: a technician, an end user, tickets with their Slack cards.
  const s = service();
  await s.people.register({ email: TOM.email, name: TOM.name, roles: ['technician'] });
  await s.people.register({ email: JANE.email, name: JANE.name, roles: ['contact'], customer: 'Acme' });
  await s.people.register({ email: 'bob@other.example', name: 'Bob Other', roles: ['contact'] });
  const ann = await s.people.findByEmail(ANN.email);
  await s.people.linkIdentity(String(ann!._id), 'slack', { userId: ANN.id, teamId: 'T0001' });
  await s.createTicket({ title: 'VPN drops hourly', description: 'Every hour the VPN drops', requester: { email: JANE.email }, source: 'email', priority: 'High', customer: 'Acme' });
  await s.createTicket({ title: 'Printer jams', description: 'Paper jam on every page', requester: { email: 'bob@other.example' }, source: 'email', priority: 'Low' });
  await s.createTicket({ title: 'Laptop battery <b>swollen</b>', description: 'Battery bulges', requester: { email: JANE.email }, source: 'portal', assignee: { email: TOM.email } });
  await s.addEntry(1, { kind: 'reply', source: 'email', author: { email: JANE.email }, text: 'Still dropping', html: `<p>Still dropping</p><script>window.__xss='mail'</script><img src=x onerror="window.__xss='img'">` });
  await drain();
  expect(stub.callsTo('chat.postMessage').filter((c) => c.args.channel === CHANNEL && !c.args.thread_ts)).toHaveLength(3);
});

test('magic-link sign-in from the .eml in the outbox; the list shows the issue\'s columns', async () => {
  const { context, page, dialogs } = await technicianPage(TOM.email);
  const headers = await page.locator('table.tickets thead th').allTextContents();
  expect(headers).toEqual(['No.', 'Title', 'Requester', 'Customer', 'Status', 'Priority', 'Assignee', 'Activity', 'Sentiment', 'Last update']);
  const row = page.locator('tr[data-number="1"]');
  await expect(row.textContent()).resolves.toContain('VPN drops hourly');
  await expect(row.textContent()).resolves.toContain('Acme');
  await expect(row.textContent()).resolves.toContain('Jane Doe');
  // Title markup is text.
  await expect(page.locator('tr[data-number="3"] td.title a').textContent()).resolves.toBe('Laptop battery <b>swollen</b>');
  await docScreenshot(page, 'console-list.png');
  expect(dialogs).toEqual([]);
  await context.close();
});

test('list: filters, search and sort live in the URL; the summary shows on hover and focus; live updates never move rows under the pointer', async () => {
  const { context, page, errors } = await technicianPage(TOM.email);
  const numbers = async () => (await page.locator('#rows tr').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-number')))));

  await page.getByLabel(/^Priority/).selectOption('High');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/priority=High/);
  expect(await numbers()).toEqual([1]);

  await page.goto(`${t.url}/console?assignee=me`);
  expect(await numbers()).toEqual([3]);
  await page.goto(`${t.url}/console?assignee=none&sort=created`);
  expect(await numbers()).toEqual([2, 1]);
  // Customer comes from the requester's organisation (Jane's: Acme; Bob has none).
  await page.goto(`${t.url}/console?customer=Acme`);
  expect((await numbers()).sort()).toEqual([1, 3]);
  await page.goto(`${t.url}/console?activity=${encodeURIComponent('Waiting for technician reply')}`);
  expect((await numbers()).every((n) => [1, 2, 3].includes(n))).toBe(true);

  await page.goto(`${t.url}/console`);
  await page.getByLabel('Search').fill('printer');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/q=printer/);
  expect(await numbers()).toEqual([2]);
  // A search over the conversation, not only titles.
  await page.goto(`${t.url}/console?q=dropping`);
  expect(await numbers()).toEqual([1]);
  await page.goto(`${t.url}/console?sort=priority`);
  expect((await numbers())[0]).toBe(1);

  // Hover and keyboard focus both show priority and the latest comment.
  await page.goto(`${t.url}/console`);
  const summary = page.locator('#summary-1');
  expect(await summary.isVisible()).toBe(false);
  await page.hover('tr[data-number="1"] td.title a');
  expect(await summary.isVisible()).toBe(true);
  expect(await summary.textContent()).toContain('Priority: High');
  expect(await summary.textContent()).toContain('Still dropping');
  await page.mouse.move(5, 5);
  await page.locator('tr[data-number="2"] td.title a').focus();
  expect(await page.locator('#summary-2').isVisible()).toBe(true);
  await page.locator('h1').click();

  // Live: a new ticket appears without reload while the pointer is elsewhere...
  await page.waitForSelector('body[data-live="on"]');
  await service().createTicket({ title: 'Monitor flickers', description: 'Flicker', requester: { email: JANE.email }, source: 'email' });
  await page.waitForSelector('tr[data-number="4"]');
  // ...and while the pointer is on the list, a bar offers it instead of moving rows.
  await page.hover('tr[data-number="1"]');
  const before = await numbers();
  await service().createTicket({ title: 'Keyboard missing keys', description: 'Keys', requester: { email: JANE.email }, source: 'email' });
  await page.waitForSelector('#live:not([hidden])');
  expect(await page.locator('#live-show').textContent()).toMatch(/^\d+ new or updated/);
  expect(await numbers()).toEqual(before);
  await page.locator('#live-show').click();
  await page.waitForSelector('tr[data-number="5"]');
  expect(errors).toEqual([]);
  await context.close();
});

test('ticket page: public reply with a status change → the mail in the outbox and the Slack card update', async () => {
  const { context, page, dialogs, errors } = await technicianPage(TOM.email);
  await page.goto(`${t.url}/console/tickets/1`);
  // Email HTML is sanitised: shown, never run.
  expect(await page.locator('#conversation').textContent()).toContain('Still dropping');
  expect(await page.evaluate(() => (window as unknown as { __xss?: string }).__xss)).toBeUndefined();
  expect(await page.getByLabel('Public reply').isChecked()).toBe(true);
  expect(await page.getByLabel('Status on send').inputValue()).toBe(''); // keep is the default
  await page.getByLabel('Message').fill('We replaced the VPN gateway; please try again.');
  await page.getByLabel('Status on send').selectOption('Pending');
  await page.setInputFiles('input[name=files]', { name: 'gateway.log', mimeType: 'text/plain', buffer: Buffer.from('log data') });
  stub.reset();
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  await page.waitForURL(/\/console\/tickets\/1#entry-/);
  expect(await page.locator('#conversation').textContent()).toContain('We replaced the VPN gateway');
  const ticket = await service().getTicket(1);
  expect(ticket.status).toBe('Pending');
  const entry = ticket.entries.find((e) => e.text.startsWith('We replaced'))!;
  expect(entry).toMatchObject({ kind: 'reply', source: 'console', author: { kind: 'technician', email: TOM.email } });
  expect(entry.attachments.map((a) => a.filename)).toEqual(['gateway.log']);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'gateway.log' }).click()]);
  expect(download.suggestedFilename()).toBe('gateway.log');

  await drain();
  const { mail } = await waitForMail(t.dataDir, JANE.email, /We replaced the VPN gateway/, seen);
  expect(mail.subject).toContain('#1');
  const updates = stub.callsTo('chat.update');
  expect(updates.length).toBeGreaterThan(0);
  expect(JSON.stringify(updates[updates.length - 1]!.json.blocks)).toContain('Pending');
  // The activity tab shows the change, who and when.
  await page.getByRole('link', { name: 'Activity' }).click();
  const log = await page.locator('#activity-log').textContent();
  expect(log).toMatch(/Tom Tech\s+field changed\s+status: Open → Pending/);
  expect(dialogs).toEqual([]);
  expect(errors).toEqual([]);
  await page.goto(`${t.url}/console/tickets/1`);
  await docScreenshot(page, 'console-ticket.png', { fullPage: true });
  await context.close();
});

test('internal note with @notify: yellow with a lock, the DM on the Slack stand-in, never mailed to the requester', async () => {
  const { context, page } = await technicianPage(TOM.email);
  await page.goto(`${t.url}/console/tickets/1`);
  await page.getByLabel('Internal note').check();
  await page.getByLabel('Message').fill(NOTE);
  await page.getByLabel(/Notify technicians/).fill(`@${ANN.email}`);
  stub.reset();
  const before = (await outbox(t.dataDir)).length;
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  await page.waitForURL(/#entry-/);
  const note = page.locator('article.note').last();
  expect(await note.textContent()).toContain(NOTE);
  expect(await note.locator('.lock').count()).toBe(1);
  expect(await note.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe('rgb(255, 248, 197)');
  await drain();
  const dms = stub.callsTo('chat.postMessage').filter((c) => /mentioned you in a note on #1/.test(c.args.text ?? ''));
  expect(dms).toHaveLength(1);
  expect(stub.callsTo('conversations.open').some((c) => c.args.users === ANN.id)).toBe(true);
  const mails = await outbox(t.dataDir);
  expect(mails.length).toBe(before);
  expect(mails.some((m) => m.text.includes(NOTE))).toBe(false);
  await context.close();
});

test('template and AI compose fill the box and send nothing', async () => {
  await service().settings.createTemplate({ name: 'Restart', body: 'Hi {{requester.firstName}}, please restart the device. {{technician.name}}' });
  const { context, page, dialogs } = await technicianPage(TOM.email);
  await page.goto(`${t.url}/console/tickets/1`);
  const entries = (await service().getTicket(1)).entries.length;
  await page.getByLabel('Template').selectOption({ label: 'Restart' });
  await page.getByRole('button', { name: 'Insert' }).click();
  await expect(page.waitForFunction(() => (document.getElementById('text') as HTMLTextAreaElement).value.includes('Hi Jane'))).resolves.toBeTruthy();
  expect(await page.getByLabel('Message').inputValue()).toBe('Hi Jane, please restart the device. Tom Tech');
  ai.requests.length = 0;
  await page.getByRole('button', { name: 'More formal' }).click();
  await page.waitForFunction((d) => (document.getElementById('text') as HTMLTextAreaElement).value === d, AI_DRAFT);
  expect(ai.requests).toHaveLength(1);
  expect(JSON.stringify(ai.requests[0]!.body)).toContain('please restart the device');
  // A failing model: a message beside the buttons, the draft left as it was.
  ai.setReply(() => ({ status: 500 }));
  await page.getByRole('button', { name: 'Rephrase' }).click();
  await page.waitForFunction(() => (document.getElementById('ai-status')!.textContent ?? '').length > 0);
  expect(await page.getByLabel('Message').inputValue()).toBe(AI_DRAFT);
  ai.setReply(() => ({ content: AI_DRAFT }));
  expect((await service().getTicket(1)).entries.length).toBe(entries);
  expect(dialogs).toEqual([]);
  await context.close();
});

test('timer, logged minutes and merge', async () => {
  const { context, page } = await technicianPage(TOM.email);
  await page.goto(`${t.url}/console/tickets/2`);
  await page.getByRole('button', { name: 'Start timer' }).click();
  await page.waitForSelector('#timer-running');
  await page.getByRole('button', { name: 'Stop timer' }).click();
  await page.waitForSelector('button:has-text("Start timer")');
  await page.getByLabel('Minutes').fill('15');
  await page.getByLabel('Note', { exact: true }).fill('Cleared the paper path');
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Log time' }).click()]);
  const minutes = Number(/(\d+) min/.exec((await page.locator('#time-spent').textContent())!)![1]);
  expect(minutes).toBeGreaterThanOrEqual(15);
  expect((await service().getTicket(2)).timeSpentMinutes).toBe(minutes);

  const target = await service().createTicket({ title: 'Paper tray broken', description: 'Tray', requester: { email: 'bob@other.example' }, source: 'email' });
  await page.getByLabel('Target ticket number').fill(String(target.number));
  await page.getByRole('button', { name: 'Merge into ticket' }).click();
  await page.waitForURL(`${t.url}/console/tickets/${target.number}`);
  expect((await service().getTicket(2)).mergedInto).toBe(target.number);
  // A bad target is a clear message, nothing changed.
  await page.goto(`${t.url}/console/tickets/${target.number}`);
  await page.getByLabel('Target ticket number').fill('999');
  await page.getByRole('button', { name: 'Merge into ticket' }).click();
  expect(await page.locator('.error').textContent()).toContain('ticket #999 not found');
  expect((await service().getTicket(target.number)).mergedInto).toBeNull();
  await context.close();
});

test('header fields edit in place through the service; bad input is shown next to the field', async () => {
  const { context, page } = await technicianPage(TOM.email);
  await page.goto(`${t.url}/console/tickets/3`);
  // Selects save on change (progressive enhancement).
  await Promise.all([page.waitForNavigation(), page.getByLabel(/^Priority/).selectOption('Critical')]);
  expect((await service().getTicket(3)).priority).toBe('Critical');
  await page.getByLabel('Product family').fill('Laptops');
  await page.getByLabel('Customer').fill('Acme');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForLoadState();
  const t3 = await service().getTicket(3);
  expect(t3).toMatchObject({ productFamily: 'Laptops', customer: 'Acme' });
  const requester = page.getByRole('textbox', { name: 'Requester' });
  await requester.fill('not an email');
  await requester.evaluate((el) => el.removeAttribute('type'));
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForSelector('#err-requester');
  expect((await service().getTicket(3)).requester!.email).toBe(JANE.email);
  const activity = await service().getActivity(3);
  expect(activity.some((a) => a.field === 'priority' && a.to === 'Critical' && a.actor.email === TOM.email)).toBe(true);
  await context.close();
});

test('presence from a second browser: at most five avatars, yours first and set apart; the same presence the Slack card reads', async () => {
  const tom = await technicianPage(TOM.email);
  const ann = await technicianPage(ANN.email);
  await tom.page.goto(`${t.url}/console/tickets/3`);
  await ann.page.goto(`${t.url}/console/tickets/3`);
  await tom.page.waitForSelector('#presence .avatar[title="Ann Admin"]');
  const order = await tom.page.locator('#presence .avatars > li').evaluateAll((els) => els.map((e) => e.className));
  expect(order.slice(0, 2)).toEqual(['avatar me', 'divider']);
  const tomId = String((await service().people.findByEmail(TOM.email))!._id);
  const p = await service().presence(3, tomId);
  expect(p.me?.name).toBe(TOM.name);
  expect(p.shown.map((m) => m.name)).toEqual([ANN.name]);
  // The Slack reply modal (a per-user surface) shows the technician who is on the web page.
  stub.reset();
  const card = (await service().getTicket(3)).channelRefs.slack as { channel: string; ts: string };
  await new SlackSigner(t.url, SECRET).blockAction(ANN.id, { action_id: 'ticket_reply', type: 'button', value: '3' }, card);
  await stub.waitFor((calls) => calls.some((c) => c.method === 'views.open'), 'views.open');
  const presenceBlock = JSON.stringify(stub.callsTo('views.open')[0]!.json.view.blocks.find((b: { block_id?: string }) => b.block_id === 'presence'));
  expect(presenceBlock).toContain('*You*');
  expect(presenceBlock).toContain(TOM.name);
  // Five more technicians working on it: four fit beside you, the rest behind "+N".
  for (let i = 0; i < 5; i++) {
    const { person } = await service().people.register({ email: `tech${i}@it.example`, name: `Tech ${i}`, roles: ['technician'] });
    await service().markWorking(3, person.id, 'slack');
  }
  await tom.page.waitForSelector('#presence .more');
  expect(await tom.page.locator('#presence .avatar').count()).toBe(5);
  expect(await tom.page.locator('#presence .more summary').textContent()).toBe('+2');
  await tom.context.close();
  await ann.context.close();
});

test('collision: someone else wrote while you were typing — said before you send', async () => {
  const { context, page } = await technicianPage(TOM.email);
  await page.goto(`${t.url}/console/tickets/3`);
  await page.waitForSelector('body[data-live="on"]');
  await page.getByLabel('Message').fill('I will swap the battery today');
  await service().addEntry(3, { kind: 'reply', text: 'Battery ordered already', author: { email: ANN.email }, source: 'slack' });
  await page.waitForSelector('#collision-live:not([hidden])');
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  await page.waitForSelector('#collision');
  expect(await page.locator('#collision').textContent()).toContain('Ann Admin');
  expect(await page.getByLabel('Message').inputValue()).toBe('I will swap the battery today');
  expect((await service().getTicket(3)).entries.some((e) => e.text === 'I will swap the battery today')).toBe(false);
  await page.getByRole('button', { name: 'Send anyway' }).click();
  await page.waitForURL(/#entry-/);
  expect((await service().getTicket(3)).entries.some((e) => e.text === 'I will swap the battery today')).toBe(true);
  await context.close();
});

test('settings: the default reply type takes effect in the composer and in the Slack modal', async () => {
  const { context, page } = await technicianPage(ANN.email);
  await page.getByRole('link', { name: 'Admin' }).click();
  await page.getByRole('radio', { name: 'Internal note' }).check();
  await page.getByLabel(/Custom statuses/).fill('Waiting on vendor = Pending');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForSelector('.notice');
  await docScreenshot(page, 'console-admin.png', { fullPage: true });
  expect((await service().settings.get()).defaultReplyType).toBe('note');
  await page.goto(`${t.url}/console/tickets/1`);
  expect(await page.getByRole('radio', { name: 'Internal note' }).isChecked()).toBe(true);
  // The custom status is offered in the header and on send.
  expect(await page.locator('select[name=status] option', { hasText: 'Waiting on vendor' }).count()).toBe(2);
  // A bad custom status line is refused with a message; nothing saved.
  await page.goto(`${t.url}/console/admin`);
  await page.getByLabel(/Custom statuses/).fill('Open = Pending');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForSelector('.error');
  expect((await service().settings.get()).customStatuses).toEqual([{ name: 'Waiting on vendor', category: 'Pending' }]);

  stub.reset();
  const card = (await service().getTicket(1)).channelRefs.slack as { channel: string; ts: string };
  const slack = new SlackSigner(t.url, SECRET);
  await slack.blockAction(TOM.id, { action_id: 'ticket_reply', type: 'button', value: '1' }, card);
  await stub.waitFor((calls) => calls.some((c) => c.method === 'views.open'), 'views.open');
  const view = stub.callsTo('views.open')[0]!.json.view;
  expect(view.blocks.find((b: { block_id?: string }) => b.block_id === 'visibility').element.initial_option.value).toBe('note');
  await context.close();
});

test('admin pages: templates with preview, people, rules enable/disable, channels with the mail log', async () => {
  const { context, page } = await technicianPage(ANN.email);
  await page.goto(`${t.url}/console/admin/templates`);
  await page.getByLabel('Name', { exact: true }).fill('Thanks');
  await page.getByLabel(/Body/).fill('Thanks {{requester.firstName}} for #{{ticket.number}}');
  await page.getByRole('button', { name: 'Preview' }).click();
  expect(await page.locator('#preview-text').textContent()).toBe('Thanks Jane for #123');
  expect((await service().settings.listTemplates()).some((x) => x.name === 'Thanks')).toBe(false);
  await page.getByRole('button', { name: 'Create' }).click();
  await page.waitForSelector('.notice');
  expect((await service().settings.listTemplates()).some((x) => x.name === 'Thanks')).toBe(true);
  await page.getByLabel(/Body/).fill('Hi {{nope}}');
  await page.getByLabel('Name', { exact: true }).fill('Broken');
  await page.getByRole('button', { name: 'Create' }).click();
  expect(await page.locator('.error').textContent()).toContain('unknown placeholder');
  await page.getByRole('button', { name: 'Delete Thanks' }).click();
  await page.waitForSelector('.notice');
  expect((await service().settings.listTemplates()).some((x) => x.name === 'Thanks')).toBe(false);

  await page.goto(`${t.url}/console/admin/people`);
  await page.getByLabel('Email address').fill('new.tech@it.example');
  await page.getByLabel('Roles').selectOption('technician');
  await page.getByRole('button', { name: 'Add person' }).click();
  await page.waitForSelector('.notice');
  expect(await page.locator('#people').textContent()).toContain('new.tech@it.example');
  expect((await service().people.findByEmail('new.tech@it.example'))!.roles).toEqual(['technician']);

  await page.goto(`${t.url}/console/admin/rules`);
  const rows = await page.locator('#rules tbody tr').count();
  expect(rows).toBeGreaterThan(0);
  const toggle = page.locator('#rules tbody tr').first().getByRole('button');
  const label = (await toggle.textContent())!;
  await toggle.click();
  await page.waitForSelector('.notice');
  expect(await page.locator('#rules tbody tr').first().getByRole('button').textContent()).not.toBe(label);

  // An auto-reply is ignored by the email bridge; the mail log shows it with the reason.
  const { emailBridgeOf } = await import('../../src/email/module.js');
  const result = await emailBridgeOf(t.app.ctx).pipeline.ingest(Buffer.from('From: Away <away@far.example>\r\nTo: support@localhost\r\nSubject: Auto: out of office\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <ooo@far.example>\r\n\r\nI am away'), { via: 'pipe' });
  expect(result.status).toBe('ignored');
  await page.goto(`${t.url}/console/admin/channels`);
  const channels = await page.locator('#channels').textContent();
  expect(channels).toMatch(/Slack\s*Configured/);
  expect(channels).toMatch(/AI\s*Configured/);
  expect(await page.locator('#mail-log').textContent()).toMatch(/ignored/);
  await context.close();
});

test('a technician is refused admin pages; a contact is pointed to the portal', async () => {
  const { context, page } = await technicianPage(TOM.email);
  const r = await page.goto(`${t.url}/console/admin`);
  expect(r!.status()).toBe(403);
  expect(await page.locator('main').textContent()).toContain('not allowed');
  expect(await page.getByRole('link', { name: 'Admin' }).count()).toBe(0);
  await context.close();

  const c = await browser.newContext();
  const jane = await c.newPage();
  await jane.goto(`${t.url}/console/signin`);
  await jane.getByLabel('Email address').fill(JANE.email);
  await jane.getByRole('button', { name: 'Send sign-in link' }).click();
  await jane.waitForSelector('.notice');
  const { match } = await waitForMail(t.dataDir, JANE.email, /https?:\/\/\S+\/portal\/signin/, seen);
  await jane.goto(match);
  await jane.waitForURL(`${t.url}/portal/signin`);
  expect(await jane.locator('h1').textContent()).toBe('Sign in');
  const refused = await jane.goto(`${t.url}/console`);
  expect(refused!.url()).toBe(`${t.url}/console/signin`);
  await c.close();
});

test('360 px in German, keyboard only: list and ticket page fit and work', async () => {
  const { context, page } = await technicianPage(TOM.email, { locale: 'de-DE', viewport: { width: 360, height: 740 } });
  expect(await page.locator('h1').textContent()).toBe('Tickets');
  expect(await page.getByRole('button', { name: 'Anwenden' }).count()).toBe(1);
  expect(await noHorizontalScroll(page)).toBe(true);
  // Keyboard: tab to the first ticket link and open it with Enter.
  await page.locator('#rows tr').first().locator('a').focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/console\/tickets\/\d+$/);
  expect(await noHorizontalScroll(page)).toBe(true);
  expect(await page.getByRole('button', { name: 'Senden', exact: true }).count()).toBe(1);
  await context.close();
});
