import { simpleParser } from 'mailparser';
import { buildMail, buildMails } from '../../bench/lib/mail.js';

/*
 * The email benchmark's messages are what the scenario says they are (~2 KB replies that thread,
 * ~60 KB HTML with quoted history, a 5 MB attachment), so its figures compare like with like.
 */

test('small replies are ~2 KB plain text, and every second one replies to the one before (threading is measured)', async () => {
  const mails = await buildMails('small', 4, 't');
  for (const m of mails) expect(m.raw.length).toBeGreaterThan(1500);
  for (const m of mails) expect(m.raw.length).toBeLessThan(3000);
  const parsed = await Promise.all(mails.map((m) => simpleParser(m.raw)));
  expect(parsed[1]!.inReplyTo).toBe(mails[0]!.messageId);
  expect(parsed[2]!.inReplyTo).toBeUndefined();
  expect(new Set(parsed.map((p) => p.messageId)).size).toBe(4);
  expect(parsed[0]!.text).toContain(mails[0]!.marker);
});

test('medium mail is ~60 KB of HTML, mostly quoted history', async () => {
  const m = await buildMail('medium', 0, 't');
  expect(m.raw.length).toBeGreaterThan(45_000);
  expect(m.raw.length).toBeLessThan(80_000);
  const p = await simpleParser(m.raw);
  expect(p.html).toContain('<blockquote>');
  expect(p.html).toContain(m.marker);
});

test('large mail carries a 5 MB attachment', async () => {
  const m = await buildMail('large', 0, 't');
  const p = await simpleParser(m.raw);
  expect(p.attachments).toHaveLength(1);
  expect(p.attachments[0]!.size).toBe(5 * 1024 * 1024);
});
