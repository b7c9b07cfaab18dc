import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Db } from 'mongodb';
import { countBy } from './mail.js';

/** One mail the email notifier wrote to an instance's outbox (DATA_DIR/outbox/*.eml). */
export interface OutboxMail { id: string; instance: number; file: string; raw: string }

/** Every mail in the outboxes of all instances, by its Message-ID (instance = index in dataDirs). */
export function readOutboxes(dataDirs: string[]): OutboxMail[] {
  const out: OutboxMail[] = [];
  dataDirs.forEach((dataDir, instance) => {
    const dir = path.join(dataDir, 'outbox');
    let files: string[] = [];
    try { files = readdirSync(dir).filter((f) => f.endsWith('.eml')); } catch { /* this instance sent nothing */ }
    for (const file of files) {
      const raw = readFileSync(path.join(dir, file), 'utf8');
      const id = /^Message-ID:\s*<([^>]+)>/im.exec(raw.split(/\r?\n\r?\n/, 1)[0]!)?.[1];
      out.push({ id: id ?? `(no Message-ID in ${file})`, instance, file, raw });
    }
  });
  return out;
}

/**
 * "Every mail once", as far as the relay lets us know: a mail may be in the outboxes more than once
 * only where its record (`mail_outbound`) shows an attempt that died while handing it to the relay
 * (`status: 'sending'` + `attempt`, src/email/outbound.ts; the relay cannot be asked whether it took
 * the mail), and never more copies than attempts. `expected` are the mails that must be there at
 * least once; every other Message-ID in the outboxes is held to its attempts too.
 */
export async function checkMailCopies(db: Db, outbox: OutboxMail[], expected: { what: string; id: string }[]) {
  const sentPerId = countBy(outbox.map((o) => o.id));
  const attemptsPerId: Record<string, number> = {};
  for (const o of await db.collection('mail_outbound').find({}, { projection: { messageId: 1, attempt: 1 } }).toArray()) {
    attemptsPerId[String(o.messageId)] = Math.max(attemptsPerId[String(o.messageId)] ?? 1, Number(o.attempt ?? 1));
  }
  const allowed = (id: string) => attemptsPerId[id] ?? 1;
  const sent = (id: string) => sentPerId[id] ?? 0;
  return {
    sentPerId,
    /** Mails sent again after an interrupted hand-over, as their records allow. */
    resent: Object.entries(sentPerId).filter(([id, c]) => c > 1 && c <= allowed(id)).length,
    /** Expected mails missing, or there more often than their attempts. */
    notOnce: expected.filter((m) => !(sent(m.id) >= 1 && sent(m.id) <= allowed(m.id))).map((m) => `${m.what} (${m.id}): ${sent(m.id)} (attempts ${allowed(m.id)})`),
    /** Any mail there more often than its attempts. */
    tooMany: Object.entries(sentPerId).filter(([id, c]) => c > allowed(id))
      .map(([id, c]) => `${id}: ${c}× (attempts ${allowed(id)}) in ${outbox.filter((o) => o.id === id).map((o) => `instance ${o.instance} ${o.file}`).join(', ')}`),
  };
}
