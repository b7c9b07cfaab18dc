import { connect, type Socket } from 'node:net';
import { startMailApp, type MailTestApp } from './support.js';

/*
 * Behind a TCP balancer (docker-compose.replicaset.yml's nginx) every SMTP connection comes from
 * the balancer's address, so per-IP limits would count everyone as one sender. With
 * INBOUND_SMTP_PROXY_PROTOCOL_FROM the balancer's PROXY protocol v1 header gives each session the
 * original client's address, and the limits count per real sender.
 */
let t: MailTestApp;
beforeAll(async () => {
  t = await startMailApp({
    INBOUND_SMTP_PROXY_PROTOCOL_FROM: '127.0.0.1,::ffff:127.0.0.1',
    INBOUND_SMTP_TRUSTED_IPS: '', INBOUND_SMTP_MAX_CONNECTIONS_PER_IP: '1',
  });
});
afterAll(async () => { await t?.close(); });

/** Opens a connection as the balancer would, announcing `clientIp`, and reads the first reply. */
async function viaBalancer(clientIp: string): Promise<{ socket: Socket; first: string; next(cmd: string): Promise<string> }> {
  const socket = connect(t.inboundPort, '127.0.0.1');
  let buffer = '';
  let waiting: ((s: string) => void) | null = null;
  socket.on('data', (d) => {
    buffer += d.toString('utf8');
    if (/(^|\r\n)\d{3} [^\r\n]*\r\n$/.test(buffer) && waiting) { const w = waiting; waiting = null; const b = buffer; buffer = ''; w(b); }
  });
  socket.on('error', () => undefined);
  const reply = () => new Promise<string>((resolve) => { waiting = resolve; });
  const first = reply();
  socket.write(`PROXY TCP4 ${clientIp} 127.0.0.1 40000 25\r\n`);
  return { socket, first: await first, next: (cmd) => { const r = reply(); socket.write(`${cmd}\r\n`); return r; } };
}

test('per-IP connection limits count the address in the PROXY header, not the balancer', async () => {
  const a1 = await viaBalancer('203.0.113.7');
  const a2 = await viaBalancer('203.0.113.7');
  const b1 = await viaBalancer('198.51.100.9');
  try {
    expect(a1.first).toMatch(/^220 /);
    expect(a2.first).toMatch(/^421 .*203\.0\.113\.7/); // the same sender's second connection
    expect(b1.first).toMatch(/^220 /); // another sender through the same balancer
  } finally {
    for (const c of [a1, a2, b1]) c.socket.destroy();
  }
});

test('mail through the balancer is stored as usual', async () => {
  const c = await viaBalancer('192.0.2.44');
  try {
    expect(c.first).toMatch(/^220 /);
    expect(await c.next('EHLO mx.corp.example')).toMatch(/^250/m);
    expect(await c.next('MAIL FROM:<pat@corp.example>')).toMatch(/^250/);
    expect(await c.next('RCPT TO:<support@help.example>')).toMatch(/^250/);
    expect(await c.next('DATA')).toMatch(/^354/);
    const stored = await c.next([
      'From: Pat <pat@corp.example>', 'To: support@help.example', 'Subject: Printer behind the balancer',
      'Message-ID: <proxy-1@corp.example>', 'Date: Mon, 07 Dec 2026 10:00:00 +0000', '', 'The printer jams.', '.',
    ].join('\r\n'));
    expect(stored).toMatch(/^250 /);
  } finally {
    c.socket.destroy();
  }
  // 250 is answered only after the mail is stored.
  const entry = await t.app.ctx.db.connection.collection('entries').findOne({ messageId: 'proxy-1@corp.example' });
  expect(entry?.text).toContain('The printer jams.');
});
