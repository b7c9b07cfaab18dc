import { emailBridgeOf, emailModule } from '../../src/email/module.js';
import { teamsModule } from '../../src/teams/index.js';
import { taskFetch } from './kit/activities.js';
import { contractTest, skipReason } from './kit/contracts.js';
import { startTeams, type TeamsHarness } from './kit/harness.js';

/* "Show full message" (issue #13) on a Teams entry card: a dialog with the whole emailed message. */
let h: TeamsHarness;
type P = Awaited<ReturnType<TeamsHarness['person']>>;
let tom: P;
const itc = contractTest('teams full message');
beforeAll(async () => {
  h = await startTeams({ modules: [teamsModule, emailModule], env: { INBOUND_SMTP_ENABLED: 'false', MAIL_FROM: 'Helpdesk <support@help.example>' } });
  tom = await h.person('Tom Tech', 'tom@it.example');
  await h.installInChannel(tom);
});
afterAll(async () => { await h?.close(); });

itc(`an emailed reply's card offers "Show full message"; the dialog shows quote and signature${skipReason}`, async () => {
  const mail = (id: string, extra: string[], body: string[]) => Buffer.from([
    'From: Jane <jane@corp.example>', 'To: support@help.example', 'Subject: Scanner broken', `Message-ID: <${id}>`, ...extra,
    'Content-Type: text/plain; charset=utf-8', '', ...body, '',
  ].join('\r\n'));
  const { pipeline } = emailBridgeOf(h.t.app.ctx);
  const opened = await pipeline.ingest(mail('t-scan-1@corp.example', [], ['The scanner is broken.']), { via: 'pipe' });
  await h.drain();
  h.connector.reset();
  await pipeline.ingest(mail('t-scan-2@corp.example', ['In-Reply-To: <t-scan-1@corp.example>'], [
    'It shows error E7.', '', 'Regards,', 'Jane Doe', '', 'On Mon, 5 Jan 2026 at 10:00, Helpdesk <support@help.example> wrote:', '> Which error?',
  ]), { via: 'pipe' });
  await h.drain();
  const reply = h.connector.callsOf('Conversations_ReplyToActivity')[0]!;
  const card = reply.body.attachments[0].content;
  expect(JSON.stringify(card)).toContain('It shows error E7.');
  expect(JSON.stringify(card)).not.toContain('Which error?');
  const action = card.actions.find((a: any) => a.title === 'Show full message');
  expect(action.data).toMatchObject({ verb: 'entry.message' });
  h.assertContract();
  const res = await h.post(taskFetch(h.connector.url, tom, { verb: 'entry.message', entryId: action.data.entryId }));
  const dialog = JSON.stringify(res.body.task.value.card.content);
  expect(dialog).toContain('Regards,');
  expect(dialog).toContain('> Which error?');
  expect(opened.status).toBe('created');
});
