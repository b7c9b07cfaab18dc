import { Browserless, startPortalApp } from '../portal/support.js';

/** Load: a reply with attachments just under the 20 MB cap goes through and downloads byte for byte. */
test('portal: a 19 MB attachment is stored in GridFS and downloads intact', async () => {
  const t = await startPortalApp();
  try {
    await t.app.ctx.service.people.register({ email: 'jane@corp.example', roles: ['contact'] });
    await t.app.ctx.service.createTicket({ title: 'Big log', description: 'see file', requester: { email: 'jane@corp.example' }, source: 'email' });
    const c = new Browserless(t.url);
    await c.signIn(t.dataDir, 'jane@corp.example');
    const fd = new FormData();
    fd.set('csrf', Browserless.csrfOf((await c.get('/portal/tickets/1')).text));
    fd.set('text', 'big log attached');
    const bytes = Buffer.alloc(19 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i % 251;
    fd.append('files', new Blob([bytes]), 'big.log');
    fd.append('files', new Blob([Buffer.alloc(900 * 1024, 1)]), 'small.log');
    const started = Date.now();
    expect((await c.request('POST', '/portal/tickets/1/replies', fd)).status).toBe(303);
    const entry = (await t.app.ctx.service.getTicket(1)).entries.at(-1)!;
    expect(entry.attachments.map((a) => [a.filename, a.size])).toEqual([['big.log', bytes.length], ['small.log', 900 * 1024]]);
    const res = await fetch(`${t.url}/portal/tickets/1/attachments/${entry.attachments[0]!.id}`, {
      headers: { cookie: `deskbridge_portal=${c.cookies.get('deskbridge_portal')}` },
    });
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    console.warn(`portal: 19.9 MB reply stored and 19 MB downloaded in ${Date.now() - started} ms`);
  } finally {
    await t.close();
  }
});
