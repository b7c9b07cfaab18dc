import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { aiModule } from '../../src/ai/module.js';
import { AttachmentStore } from '../../src/attachments/store.js';
import { automationsModule } from '../../src/automations/module.js';
import { emailModule } from '../../src/email/module.js';
import { createPortalModule } from '../../src/portal/module.js';
import { startOpenAiStandIn, type RecordedRequest } from '../ai/openai-standin.js';
import { Browserless, outbox, waitForSigninLink } from '../portal/support.js';
import { JANE as SLACK_JANE, TOM as SLACK_TOM, describeWithContracts, eventually, startSlack, type SlackHarness } from '../slack/support.js';
import { startTestApp, type TestApp } from '../support/db.js';
import { personalConversation, personalMessage } from '../teams/kit/activities.js';
import { contractTest, skipReason as teamsSkipReason } from '../teams/kit/contracts.js';
import { startTeams, type TeamsHarness } from '../teams/kit/harness.js';

/*
 * Internal notes never reach an end user: one test per path by which a note could (email
 * notifier, portal page and attachment download, Slack DM relay, Teams 1:1 relay, AI drafts with
 * and without aiMayReadNotes, merge, templates and the automation "template email"). Every secret
 * is unique, so a leak names its path; each test first proves the public part of the same ticket
 * does arrive, so it cannot pass by delivering nothing. The core's own note paths (contact view,
 * list excerpt, events) are in test/privacy/internal-notes.test.ts.
 */

const TECH = 'leak-tom@it.example';
const JANE = 'leak-jane@corp.example';
const BOB = 'leak-bob@corp.example';

describe('mail, portal, merge and templates (one app with the email, portal and automations modules)', () => {
  let t: TestApp;
  let dataDir: string;
  const seenMails = new Set<string>();
  const drain = () => t.app.ctx.deliveries.drain();
  /** Every mail written so far to anyone but the technician, as one string. */
  const mailToEndUsers = async () => (await outbox(dataDir)).filter((m) => !m.to.includes(TECH)).map((m) => `${m.to}\n${m.subject}\n${m.text}`).join('\n---\n');

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'deskbridge-leaks-'));
    // No SMTP_URL: every outbound mail (notifications, sign-in links) is an .eml file in DATA_DIR/outbox.
    t = await startTestApp({
      modules: [emailModule, createPortalModule(), automationsModule],
      env: { DATA_DIR: dataDir, INBOUND_SMTP_PORT: '0', MAIL_FROM: 'Helpdesk <support@help.example>', PUBLIC_URL: 'http://127.0.0.1:1', MAIL_RATE_LIMIT: '1000' },
    });
    await t.api('POST', '/people', { email: TECH, name: 'Tom Tech', roles: ['technician'] });
    await t.api('POST', '/people', { email: JANE, name: 'Jane Doe', roles: ['contact'] });
    await t.api('POST', '/people', { email: BOB, name: 'Bob Roe', roles: ['contact'] });
  });
  afterAll(async () => {
    await t?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function ticketWithNote(secret: string, requester = JANE, attach = false): Promise<{ n: number; fileId: string | null }> {
    const n = (await t.api('POST', '/tickets', { title: 'VPN drops', description: 'It drops hourly.', requester: { email: requester } })).body.number as number;
    let fileId: string | null = null;
    if (attach) {
      const ref = await new AttachmentStore(t.app.ctx.db.connection.db as never).put(Buffer.from(`file of ${secret}`), { filename: `${secret}.txt`, contentType: 'text/plain' });
      await t.app.ctx.service.addEntry(n, { kind: 'note', text: `internal: ${secret}`, author: { email: TECH }, source: 'api', attachments: [ref] });
      fileId = ref.id;
    } else {
      expect((await t.api('POST', `/tickets/${n}/entries`, { kind: 'note', text: `internal: ${secret}`, author: { email: TECH } })).status).toBe(201);
    }
    expect((await t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: `public answer on ${n}`, author: { email: TECH } })).status).toBe(201);
    await drain();
    return { n, fileId };
  }

  /** Signs in to the portal as `email` through the real magic-link flow (link taken from the outbox). */
  async function portalAs(email: string): Promise<Browserless> {
    const b = new Browserless(t.url);
    const form = await b.get('/portal/signin');
    expect((await b.post('/portal/signin', { csrf: Browserless.csrfOf(form.text), email })).status).toBe(200);
    const { url } = await waitForSigninLink(dataDir, email, seenMails);
    // PUBLIC_URL is fixed before the app has its port: open the same link on the app's real address.
    await b.openLink(url.replace(/^https?:\/\/[^/]+/, t.url));
    return b;
  }

  test('email: the outbound notifier mails the public reply to the requester, never the note (or its attachment)', async () => {
    const secret = 'SECRET-email-notifier';
    const { n } = await ticketWithNote(secret, JANE, true);
    const mail = await mailToEndUsers();
    expect(mail).toContain(`public answer on ${n}`);
    expect(mail).not.toContain(secret);
  });

  test('portal: the ticket page shows public entries only, and a note\'s attachment cannot be downloaded', async () => {
    const secret = 'SECRET-portal-page';
    const { n, fileId } = await ticketWithNote(secret, JANE, true);
    const jane = await portalAs(JANE);
    const page = await jane.get(`/portal/tickets/${n}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain(`public answer on ${n}`);
    expect(page.text).not.toContain(secret);
    expect(page.text).not.toContain(fileId!);
    const list = await jane.get('/portal/');
    expect(list.text).not.toContain(secret);
    const dl = await jane.get(`/portal/tickets/${n}/attachments/${fileId}`);
    expect(dl.status).toBe(404);
    expect(dl.text).not.toContain(secret);
  });

  test('merge: a ticket with notes merged into another leaks none of them to either requester (contact view, portal, mail)', async () => {
    const secret = 'SECRET-merge';
    const a = await ticketWithNote(`${secret}-source`, BOB);
    const b = await ticketWithNote(`${secret}-target`, JANE);
    expect((await t.api('POST', `/tickets/${a.n}/merge`, { into: b.n })).status).toBe(200);
    await t.api('POST', `/tickets/${b.n}/entries`, { kind: 'reply', text: `after the merge on ${b.n}`, author: { email: TECH } });
    await drain();
    for (const n of [a.n, b.n]) {
      const contact = await t.api('GET', `/tickets/${n}?view=contact`);
      expect(JSON.stringify(contact.body)).not.toContain(secret);
    }
    // Whatever each requester may open of either ticket in the portal carries no note.
    for (const who of [JANE, BOB]) {
      const p = await portalAs(who);
      for (const n of [a.n, b.n]) {
        const page = await p.get(`/portal/tickets/${n}`);
        expect(page.text).not.toContain(secret);
      }
    }
    const janeSees = await (await portalAs(JANE)).get(`/portal/tickets/${b.n}`);
    expect(janeSees.text).toContain(`after the merge on ${b.n}`);
    const mail = await mailToEndUsers();
    expect(mail).toContain(`after the merge on ${b.n}`);
    expect(mail).not.toContain(secret);
  });

  test('templates: rendering every template variable, and the automation "template email", carry no note', async () => {
    const secret = 'SECRET-template';
    const vars = ['requester.name', 'requester.firstName', 'requester.email', 'ticket.number', 'ticket.title', 'ticket.status', 'technician.name', 'technician.firstName', 'technician.email'];
    const tpl = await t.api('POST', '/templates', { name: 'Everything', body: vars.map((v) => `${v}={{${v}}}`).join(' | ') });
    expect(tpl.status).toBe(201);
    const rule = await t.api('POST', '/automations', { name: 'Template mail', enabled: true, conditions: [], trigger: { type: 'entry.added', by: 'technician', kind: 'note' }, actions: [{ type: 'emailRequester', templateId: tpl.body.id }] });
    expect(rule.status).toBe(201);
    const { n } = await ticketWithNote(secret, JANE);
    await drain();
    const rendered = await t.app.ctx.service.renderTemplate(tpl.body.id, n, { email: TECH });
    expect(rendered).toContain(`ticket.number=${n}`);
    expect(rendered).not.toContain(secret);
    const contact = (await t.api('GET', `/tickets/${n}?view=contact`)).body;
    const auto = contact.entries.find((e: any) => e.author.kind === 'system' && e.text.includes('ticket.number='));
    expect(auto).toBeTruthy(); // the rule ran (triggered by the note itself)
    expect(auto.text).not.toContain(secret);
    const mail = await mailToEndUsers();
    expect(mail).toContain(`ticket.number=${n}`);
    expect(mail).not.toContain(secret);
    await t.api('PATCH', `/automations/${rule.body.id}`, { enabled: false });
  });
});

describeWithContracts('Slack DM relay', () => {
  let h: SlackHarness;
  afterAll(async () => { await h?.close(); });

  test('Slack DM relay: public replies reach the requester\'s DM, internal notes never', async () => {
    const secret = 'SECRET-slack-dm';
    h = await startSlack();
    await h.t.api('POST', '/tickets', { title: 'Laptop slow', description: 'Very slow', requester: { email: SLACK_JANE.email } });
    await h.drain();
    const card = (await h.ticket(1)).channelRefs.slack;
    await h.slack.blockAction(SLACK_TOM.id, { action_id: 'ticket_more', type: 'overflow', selected_option: { value: '1|chat' } }, card);
    await eventually(async () => (await h.ticket(1)).channelRefs.slackDm, 'chat DM opened');
    await h.t.api('POST', '/tickets/1/entries', { kind: 'note', text: `internal: ${secret}`, author: { email: SLACK_TOM.email } });
    await h.t.api('POST', '/tickets/1/entries', { kind: 'reply', text: 'public: please restart', author: { email: SLACK_TOM.email } });
    await h.drain();
    const toJane = JSON.stringify(h.stub.calls.filter((c) => JSON.stringify(c.args).includes(`D${SLACK_JANE.id}`) || c.args.channel === `D${SLACK_JANE.id}` || c.args.users === SLACK_JANE.id));
    expect(toJane).toContain('public: please restart');
    expect(toJane).not.toContain(secret);
    expect(h.stub.violations).toEqual([]);
  });
});

describe('Teams 1:1 relay', () => {
  let h: TeamsHarness;
  afterAll(async () => { await h?.close(); });

  contractTest('no-internal-note-leaks: Teams')(`Teams 1:1 relay: public replies reach the end user's chat, internal notes never${teamsSkipReason}`, async () => {
    const secret = 'SECRET-teams-1to1';
    h = await startTeams();
    await h.person('Tom Tech', 'tom@it.example');
    const jane = await h.person('Jane Doe', 'jane@corp.example', ['contact']);
    expect((await h.post(personalMessage(h.connector.url, jane, 'My laptop will not boot'))).status).toBe(200);
    await h.drain();
    const n = (await h.t.api('GET', '/tickets?requester=jane@corp.example')).body.items[0].number;
    await h.t.api('POST', `/tickets/${n}/entries`, { kind: 'note', text: `internal: ${secret}`, author: { email: 'tom@it.example' } });
    await h.t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'public: hold the power button', author: { email: 'tom@it.example' } });
    await h.drain();
    const sent = h.connector.textSentTo(personalConversation(jane).id);
    expect(sent).toContain('public: hold the power button');
    expect(sent).not.toContain(secret);
    // Nothing the bot sent anywhere a non-technician could read carries it either (only the channel card may).
    const elsewhere = h.connector.calls.filter((c) => !c.conversationId?.startsWith('19:')).map((c) => JSON.stringify(c.body)).join('\n');
    expect(elsewhere).not.toContain(secret);
  });
});

describe('AI drafts', () => {
  const NOTE = 'SECRET-ai-note: customer is on the layoff list next month';
  let ai: Awaited<ReturnType<typeof startOpenAiStandIn>>;
  let t: TestApp;
  let answer = 'Hi Jane, please restart the printer. Tom';
  const sentToModel = (r: RecordedRequest) => JSON.stringify(r.body.messages);

  beforeAll(async () => {
    ai = await startOpenAiStandIn(() => ({ content: answer }));
    t = await startTestApp({ modules: [aiModule], env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: ai.url, OPENAI_MODEL: 'standin-model', OPENAI_TIMEOUT_MS: '2000', AI_SENTIMENT: 'false' } });
    await t.api('POST', '/people', { email: 'tom@it.example', name: 'Tom Tech', roles: ['technician'] });
    await t.api('POST', '/tickets', { title: 'Printer jams', description: 'The printer jams on every page.', requester: { email: 'jane@corp.example', name: 'Jane Doe' } });
    await t.api('POST', '/tickets/1/entries', { kind: 'reply', text: 'Which model is it?', author: { email: 'tom@it.example' } });
    await t.api('POST', '/tickets/1/entries', { kind: 'note', text: NOTE, author: { email: 'tom@it.example' } });
  });
  afterAll(async () => {
    await t?.close();
    await ai?.close();
  });

  test('AI draft without aiMayReadNotes: the note is not sent to the model at all', async () => {
    await t.api('PUT', '/settings', { aiMayReadNotes: false });
    ai.requests.length = 0;
    answer = 'Hi Jane, please restart the printer. Tom';
    const res = await t.api('POST', '/tickets/1/compose', { action: 'generate', technician: { email: 'tom@it.example' } });
    expect(res.status).toBe(200);
    expect(ai.requests).toHaveLength(1);
    expect(sentToModel(ai.requests[0]!)).toContain('Which model is it?');
    expect(sentToModel(ai.requests[0]!)).not.toContain('SECRET-ai-note');
    expect(res.body.text).not.toContain('layoff');
  });

  test('AI draft with aiMayReadNotes: a draft quoting the note has those sentences removed before the technician sees it', async () => {
    await t.api('PUT', '/settings', { aiMayReadNotes: true });
    ai.requests.length = 0;
    answer = 'Hi Jane, I looked at it. SECRET-ai-note: customer is on the layoff list next month. Please send the model. Tom';
    const res = await t.api('POST', '/tickets/1/compose', { action: 'generate', technician: { email: 'tom@it.example' } });
    expect(res.status).toBe(200);
    expect(sentToModel(ai.requests[0]!)).toContain('SECRET-ai-note'); // it was allowed to read it...
    expect(res.body.text).toContain('Please send the model');
    expect(res.body.text).not.toContain('SECRET-ai-note'); // ...but the draft never carries it
    expect(res.body.text).not.toMatch(/layoff/i);
    await t.api('PUT', '/settings', { aiMayReadNotes: false });
  });
});
