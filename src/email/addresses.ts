import type { Config } from '../config/index.js';
import { normaliseEmail } from '../domain/ticket-rules.js';

/** Our own addresses and ids, derived from MAIL_FROM and MAIL_REPLY_DOMAIN. */
export class MailAddresses {
  /** Display name and address of MAIL_FROM. */
  readonly fromName: string;
  readonly fromAddress: string;
  readonly localPart: string;
  readonly replyDomain: string;
  /** Value of our loop header: identifies this installation's mail. */
  readonly loopMarker: string;

  constructor(config: Config) {
    const m = /^\s*(?:"?([^"<]*?)"?\s*)?<([^>]+)>\s*$/.exec(config.MAIL_FROM);
    this.fromName = m?.[1]?.trim() || 'Helpdesk';
    this.fromAddress = normaliseEmail(m?.[2] ?? config.MAIL_FROM);
    const [local, domain] = this.fromAddress.split('@');
    this.localPart = (local ?? 'support').split('+')[0]!;
    this.replyDomain = (config.MAIL_REPLY_DOMAIN ?? domain ?? 'localhost').toLowerCase();
    this.loopMarker = `deskbridge@${this.replyDomain}`;
  }

  replyTo(token: string): string {
    return `${this.localPart}+${token}@${this.replyDomain}`;
  }

  /** The token in one of our Reply-To addresses, or null. */
  tokenIn(address: string): string | null {
    const m = /^([^+@]+)\+([a-z0-9]{8,64})@(.+)$/i.exec(address.trim());
    if (!m || m[1]!.toLowerCase() !== this.localPart || m[3]!.toLowerCase() !== this.replyDomain) return null;
    return m[2]!.toLowerCase();
  }

  /** Our support address or any of its +token forms. */
  isOurs(address: string): boolean {
    const a = normaliseEmail(address);
    if (a === this.fromAddress) return true;
    const [local, domain] = a.split('@');
    if (!local || !domain) return false;
    const base = local.split('+')[0];
    return base === this.localPart && (domain === this.replyDomain || domain === this.fromAddress.split('@')[1]);
  }

  messageIdFor(kind: 'entry' | 'ticket' | 'event', id: string | number): string {
    const prefix = kind === 'entry' ? 'e' : kind === 'ticket' ? 't' : 'v';
    return `deskbridge.${prefix}${id}@${this.replyDomain}`;
  }

  isOurMessageId(id: string): boolean {
    return id.startsWith('deskbridge.') && id.toLowerCase().endsWith(`@${this.replyDomain}`);
  }
}
