import { visibleText } from '../../src/domain/reply-text.js';
import { EarlierMessages, reproductionStart, textBeforeReproduction, visibleTextWithThread } from '../../src/email/thread-match.js';

/* The thread as quote detector: whatever the layout, text reproducing an earlier mail is quote. */

const OURS = [
  'Tom Tech replied to your request #12:',
  '',
  'Please restart the VPN client, then open the settings and check that the gateway is vpn.corp.example.',
  'If it still fails, send us a screenshot of the error.',
  '',
  'View your request: http://desk.example/portal/tickets/12',
  '',
  '-- ',
  'Helpdesk · reply to this email to answer; keep [#12] in the subject.',
].join('\n');
const earlier = new EarlierMessages([OURS]);
const NEW = 'Done, it connects now.\nThanks!';

test('a reproduction under a header no rule knows (made-up layout and language) is cut with its header', () => {
  const mail = `${NEW}\n\n~~~~ 2026-01-05 10:00 · Helpdesk <support@help.example> skrifaði ~~~~\n\n${OURS}`;
  expect(textBeforeReproduction(mail, earlier)?.trim()).toBe(NEW);
});

test('re-wrapped at another width, `>`-quoted and with HTML markup, it is still recognised', () => {
  const rewrapped = OURS.replace(/\n/g, ' ').replace(/(.{1,50})(\s|$)/g, '$1\n').split('\n').map((l) => `> <b>${l}</b>`).join('\n');
  const mail = `${NEW}\n\n${rewrapped}`;
  expect(textBeforeReproduction(mail, earlier)?.trim()).toBe(NEW);
});

test('with no header at all (a mobile app pasting the old mail), it starts at the first reproduced line', () => {
  const mail = `${NEW}\n${OURS}`;
  const lines = mail.split('\n');
  expect(reproductionStart(mail, earlier)).toBe(2);
  expect(lines[2]).toBe(OURS.split('\n')[0]);
});

test('quoting one sentence of ours and answering below it keeps the answer', () => {
  const mail = `> If it still fails, send us a screenshot of the error.\n\nHere it is: the client says "gateway unreachable" every time I try, also from home.\nWhat else can I try before Monday?`;
  expect(reproductionStart(mail, earlier)).toBe(-1);
});

test('new text that merely shares words with our mail is not cut', () => {
  const mail = 'I restarted the VPN client and the gateway is set, but it still fails with a timeout after a minute.';
  expect(textBeforeReproduction(mail, earlier)).toBeNull();
});

test('no earlier messages: nothing is cut', () => {
  expect(reproductionStart(`${NEW}\n\n${OURS}`, new EarlierMessages([]))).toBe(-1);
});

test('the end user\'s own earlier mail reproduced below the reply is quote too', () => {
  const own = 'My laptop does not connect to the VPN since this morning. The error says gateway unreachable.';
  const mail = `Any news on this?\n\n${own}`;
  expect(textBeforeReproduction(mail, new EarlierMessages([OURS, own]))?.trim()).toBe('Any news on this?');
});

test('a long reproduced history is matched in linear time', () => {
  const history = Array.from({ length: 2000 }, (_, i) => `Line ${i} of an earlier message with enough words to be compared.`).join('\n');
  const e = new EarlierMessages([history]);
  // CPU time, not wall time: the machine running the tests may be loaded. ~0.2 s standalone; a
  // per-line rescan (quadratic) took over 30 s.
  const started = process.cpuUsage();
  expect(reproductionStart(`${NEW}\n\n${history}`, e)).toBe(3);
  const used = process.cpuUsage(started);
  expect((used.user + used.system) / 1000).toBeLessThan(5000);
});

describe('visibleTextWithThread (what inbound mail and the eval both use)', () => {
  test('cuts a quote the text rules miss (no header, no `>`, a made-up separator)', () => {
    const mail = `${NEW}\n\n~~~~\n\n${OURS}`;
    const rules = visibleText(mail);
    expect(rules).toContain('Please restart the VPN client');
    // The same as if the mail held the new text alone.
    expect(visibleTextWithThread(mail, rules, earlier)).toBe(visibleText(`${NEW}\n\n~~~~`));
    expect(visibleTextWithThread(mail, rules, earlier)).toContain('Done, it connects now.');
    expect(visibleTextWithThread(mail, rules, earlier)).not.toContain('VPN');
  });

  test('keeps what the rules found when the thread would leave more (the rules cut higher)', () => {
    const mail = `${NEW}\n\n-----Original Message-----\nSomething we never sent, from another system.\n\n${OURS}`;
    const rules = visibleText(mail);
    expect(rules).toBe(NEW);
    expect(visibleTextWithThread(mail, rules, earlier)).toBe(NEW);
  });

  test('without earlier messages it returns what the rules found', () => {
    expect(visibleTextWithThread(`${NEW}\n\n${OURS}`, 'x', new EarlierMessages([]))).toBe('x');
  });
});

describe('earlier messages shorter than the compared window ("Any update on this?")', () => {
  const short = 'Any update on this?';
  const e = new EarlierMessages([short]);
  const gmailHeader = 'On Mon, Jan 5, 2026 at 10:00 AM Helpdesk <support@help.example> wrote:';

  test('quoted with `>` as the last thing in the mail, under a header no rule knows, it is cut', () => {
    const mail = `Yes, it works again since this morning.\n\n~~~~ 2026-01-05 · Helpdesk skrifaði ~~~~\n> ${short}\n`;
    expect(textBeforeReproduction(mail, e)?.trim()).toBe('Yes, it works again since this morning.');
  });

  test('right under a header line without `>` (Outlook, Yahoo), it is cut with the header', () => {
    const mail = `Yes, it works again since this morning.\n\n${gmailHeader}\n\n${short}\n`;
    expect(textBeforeReproduction(mail, e)?.trim()).toBe('Yes, it works again since this morning.');
  });

  test('followed only by the writer\'s "-- " signature (Gmail with the signature under the quote), it is cut', () => {
    const mail = `Yes, it works again since this morning.\n\n${gmailHeader}\n\n> ${short}\n>\n>\n\n-- \n*Ann Example*\nSoftware developer\n*Mob: 0999 999 9999\n`;
    expect(textBeforeReproduction(mail, e)?.trim()).toBe('Yes, it works again since this morning.');
  });

  test('the same sentence typed by the writer (not quoted) stays', () => {
    const mail = `I sent the logs on Monday.\n\n${short}`;
    expect(reproductionStart(mail, e)).toBe(-1);
  });

  test('a quoted short message answered below (bottom-posting) keeps the answer', () => {
    const mail = `> ${short}\n\nYes, fixed.`;
    expect(reproductionStart(mail, e)).toBe(-1);
  });

  test('too short to say anything ("Thanks!") is never matched', () => {
    expect(new EarlierMessages(['Thanks!']).empty).toBe(true);
  });
});
