import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { pollImap } from '../../src/email/imap-poll.js';
import { emailBridgeOf } from '../../src/email/module.js';
import { eventually, startMailApp, type MailTestApp } from './support.js';

/* IMAP polling against a real IMAP server on loopback (hoodiecrow, an in-memory IMAP4rev1 server). */

const require = createRequire(import.meta.url);
const hoodiecrow = require('hoodiecrow-imap') as (opts: unknown) => { listen(port: number, host: string, cb: () => void): void; close(cb: () => void): void; server?: unknown; _server?: unknown };

let t: MailTestApp;
let imap: any;
let port: number;

const crlf = (s: string) => s.replace(/\n/g, '\r\n');

beforeAll(async () => {
  t = await startMailApp();
  imap = hoodiecrow({
    plugins: ['AUTH-PLAIN', 'UIDPLUS', 'ENABLE', 'IDLE'],
    storage: {
      INBOX: {
        messages: [
          { raw: crlf('From: Ivy <ivy@corp.example>\nTo: support@help.example\nSubject: Scanner jammed\nMessage-ID: <imap-1@corp.example>\n\nThe scanner is jammed.\n') },
          { raw: crlf('From: ivy@corp.example\nTo: support@help.example\nSubject: Old and read\nMessage-ID: <imap-2@corp.example>\n\nalready seen\n'), flags: ['\\Seen'] },
          { raw: crlf('From: ivy@corp.example\nTo: support@help.example\nSubject: Out of office\nAuto-Submitted: auto-replied\nMessage-ID: <imap-3@corp.example>\n\naway\n') },
        ],
      },
    },
  });
  await new Promise<void>((r) => imap.listen(0, '127.0.0.1', r));
  port = ((imap.server ?? imap._server) as { address(): AddressInfo }).address().port;
});
afterAll(async () => {
  await new Promise<void>((r) => imap.close(r));
  await t.close();
});

test('unseen mail goes through the same pipeline and is marked seen only once stored', async () => {
  const url = `imap://testuser:testpass@127.0.0.1:${port}/INBOX`;
  const first = await pollImap(url, emailBridgeOf(t.app.ctx).pipeline, t.app.ctx.logger);
  expect(first).toEqual({ processed: 2, failed: 0 });
  const list = (await t.api('GET', '/tickets')).body.items;
  expect(list.map((x: any) => x.title)).toEqual(['Scanner jammed']);
  expect((await t.api('GET', '/tickets/1')).body.entries[0].text).toBe('The scanner is jammed.');
  const again = await pollImap(url, emailBridgeOf(t.app.ctx).pipeline, t.app.ctx.logger);
  expect(again).toEqual({ processed: 0, failed: 0 });
});

test('with IMAP_URL set, the scheduled job polls the mailbox', async () => {
  const second = hoodiecrow({
    plugins: ['AUTH-PLAIN'],
    storage: { INBOX: { messages: [{ raw: crlf('From: lee@corp.example\nTo: support@help.example\nSubject: Projector\nMessage-ID: <imap-9@corp.example>\n\nNo signal.\n') }] } },
  }) as any;
  await new Promise<void>((r) => second.listen(0, '127.0.0.1', r));
  const p2 = ((second.server ?? second._server) as { address(): AddressInfo }).address().port;
  const app = await startMailApp({ IMAP_URL: `imap://testuser:testpass@127.0.0.1:${p2}/INBOX`, IMAP_POLL_INTERVAL: '1 minute' }, { workers: true });
  try {
    const items = await eventually(async () => {
      const list = (await app.api('GET', '/tickets')).body.items;
      return list.length > 0 ? list : null;
    }, 15_000);
    expect(items[0]).toMatchObject({ title: 'Projector' });
  } finally {
    await app.close();
    await new Promise<void>((r) => second.close(r));
  }
}, 30_000);
