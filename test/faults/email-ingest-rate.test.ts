import { monitorEventLoopDelay } from 'node:perf_hooks';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { emailBridgeOf, emailModule } from '../../src/email/module.js';
import { startTestApp } from '../support/db.js';

/* Figures for the ingestion benchmark: pipeline rate against mailparser's raw parse rate. */

async function build(size: 'medium' | 'large', i: number): Promise<Buffer> {
  const t = nodemailer.createTransport({ streamTransport: true, buffer: true });
  const para = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. ';
  const text = `Reply number ${i}.\n\nOn Mon, Jan 5, 2026 at 10:00 AM Bob <bob@x.example> wrote:\n` + `> ${para}\n`.repeat(size === 'medium' ? 400 : 2000);
  const info = await t.sendMail({
    from: `sender${i}@corp.example`, to: 'support@help.example', subject: `Bench ${size} ${i}`, messageId: `<bench-${size}-${i}-${Date.now()}@corp.example>`,
    text, html: `<p>Reply number ${i}.</p><blockquote>${para.repeat(size === 'medium' ? 200 : 1000)}</blockquote>`,
    attachments: size === 'large' ? [{ filename: 'data.bin', content: Buffer.alloc(4 * 1024 * 1024, 7) }] : [],
  });
  return info.message as Buffer;
}

test('ingestion rate vs mailparser parse rate (medium and large mail)', async () => {
  const t = await startTestApp({ modules: [emailModule], env: { INBOUND_SMTP_ENABLED: 'false', MAIL_FROM: 'Helpdesk <support@help.example>' } });
  try {
    const { pipeline } = emailBridgeOf(t.app.ctx);
    for (const [size, n] of [['medium', 40], ['large', 6]] as const) {
      const msgs = await Promise.all(Array.from({ length: n }, (_, i) => build(size, i)));
      let started = performance.now();
      for (const m of msgs) await simpleParser(m);
      const parseRate = n / ((performance.now() - started) / 1000);
      const fresh = await Promise.all(Array.from({ length: n }, (_, i) => build(size, i + 1000)));
      const h = monitorEventLoopDelay({ resolution: 5 });
      h.enable();
      started = performance.now();
      for (const m of fresh) expect((await pipeline.ingest(m, { via: 'pipe' })).status).toBe('created');
      const ingestRate = n / ((performance.now() - started) / 1000);
      h.disable();
      console.log(`${size} (${(msgs[0]!.length / 1024).toFixed(0)} KB): mailparser ${parseRate.toFixed(1)} msg/s, pipeline ${ingestRate.toFixed(1)} msg/s = ${((ingestRate / parseRate) * 100).toFixed(0)}%; event loop max delay ${(h.max / 1e6).toFixed(0)} ms`);
    }
  } finally {
    await t.close();
  }
});
