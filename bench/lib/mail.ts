import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import path from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import nodemailer from 'nodemailer';
import { repoRoot } from './service-process.js';

/*
 * Test mail for the email scenarios, built with nodemailer's MIME composer (real MIME, not
 * hand-written): small plain replies (~2 KB), HTML mail with a long quoted history (~60 KB) and
 * mail with a 5 MB attachment. Every message has its own Message-ID; odd small messages reply to
 * the one before (In-Reply-To), so threading is part of what is measured.
 */

export type MailKind = 'small' | 'medium' | 'large';

export interface BenchMail { kind: MailKind; messageId: string; raw: Buffer; marker: string }

const words = 'printer network laptop password reset vpn monitor keyboard access shared drive outlook calendar invoice license update'.split(' ');
const sentence = (i: number) => Array.from({ length: 12 }, (_, k) => words[(i * 7 + k * 3) % words.length]).join(' ') + '.';

export async function buildMail(kind: MailKind, i: number, tag: string, parentId?: string): Promise<BenchMail> {
  const marker = `${tag}-${kind}-${i}-${randomBytes(3).toString('hex')}`;
  const messageId = `<${marker}@bench.example>`;
  const from = `User ${i % 20} <user${i % 20}@customer${i % 5}.example>`;
  const base = {
    from, to: 'support@helpdesk.example', messageId, date: new Date(),
    subject: parentId ? `Re: bench ${kind} ${i - 1}` : `bench ${kind} ${i}`,
    ...(parentId ? { inReplyTo: parentId, references: parentId } : {}),
  };
  let options: ConstructorParameters<typeof MailComposer>[0];
  if (kind === 'small') {
    const quoted = Array.from({ length: 14 }, (_, k) => `> ${sentence(i + k)}`).join('\n');
    options = { ...base, text: `Hello, ${marker}\n${sentence(i)}\n${sentence(i + 1)}\n\nThanks\n\nOn Mon, 1 Jan 2026, Helpdesk wrote:\n${quoted}\n` };
  } else if (kind === 'medium') {
    // ~60 KB: a short answer on top of a long quoted HTML history (what reply stripping cuts).
    const history = Array.from({ length: 420 }, (_, k) => `<p style="margin:0">${sentence(i + k)} <b>${k}</b></p>`).join('\n');
    options = {
      ...base,
      html: `<html><body><div>Hello, ${marker}</div><div>${sentence(i)}</div><br><div class="gmail_quote">On Mon, 1 Jan 2026 Helpdesk wrote:<blockquote>${history}</blockquote></div></body></html>`,
    };
  } else {
    options = {
      ...base, text: `Hello, ${marker}\nThe log is attached.\n`,
      attachments: [{ filename: 'log.bin', content: randomBytes(5 * 1024 * 1024), contentType: 'application/octet-stream' }],
    };
  }
  const raw = await new MailComposer(options).compile().build();
  return { kind, messageId, raw, marker };
}

/** `count` messages of a kind; odd small ones reply to the previous one. */
export async function buildMails(kind: MailKind, count: number, tag: string): Promise<BenchMail[]> {
  const out: BenchMail[] = [];
  for (let i = 0; i < count; i++) out.push(await buildMail(kind, i, tag, kind === 'small' && i % 2 === 1 ? out[i - 1]!.messageId : undefined));
  return out;
}

/**
 * Runs `deskbridge mail ingest FILE...` as its own process (the pipe command an MTA calls) and
 * returns each message's result with the time its JSON line appeared.
 */
export async function pipeIngest(files: string[], env: Record<string, string>): Promise<{ lines: { at: number; status: string }[]; code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src/cli.ts'), 'mail', 'ingest', ...files], {
    cwd: repoRoot, env: { ...process.env, LOG_LEVEL: 'warn', NODE_ENV: 'production', INBOUND_SMTP_ENABLED: 'false', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: { at: number; status: string }[] = [];
  let pending = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => {
    const at = performance.now();
    pending += b.toString();
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (!line.trim()) continue;
      // Result lines carry a status; anything else on stdout (a JSON log line) is not a result.
      try {
        const parsed = JSON.parse(line) as { status?: unknown };
        if (typeof parsed.status === 'string') lines.push({ at, status: parsed.status });
      } catch { /* not a result line */ }
    }
  });
  child.stderr!.on('data', (b: Buffer) => { stderr = (stderr + b.toString()).slice(-4000); });
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  return { lines, code, stderr };
}

/** Sends raw messages to an SMTP server over `connections` parallel connections; returns each 250's time. */
export async function smtpSend(port: number, mails: Buffer[], connections: number): Promise<{ ok: number; failed: string[]; ms: number }> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, pool: true, maxConnections: connections, maxMessages: Infinity });
  const failed: string[] = [];
  let ok = 0;
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: connections }, async () => {
    while (next < mails.length) {
      const raw = mails[next++]!;
      try {
        await transport.sendMail({ envelope: { from: 'sender@customer.example', to: ['support@helpdesk.example'] }, raw });
        ok++;
      } catch (err) {
        failed.push(String((err as Error).message).slice(0, 200));
      }
    }
  }));
  const ms = performance.now() - t0;
  transport.close();
  return { ok, failed, ms };
}
