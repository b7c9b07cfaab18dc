/**
 * SPF/DKIM/DMARC verdicts as our MTA recorded them in its Authentication-Results header (RFC 8601).
 * We do not verify mail ourselves: the MTA in front of us did, with the connection's IP at hand.
 */
export type AuthVerdict = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror' | 'policy';

export interface MailAuthResults {
  /** The authserv-id of the header we read (our MTA's name). */
  authservId: string;
  spf: AuthVerdict | null;
  dkim: AuthVerdict | null;
  dmarc: AuthVerdict | null;
  /** The From domain DMARC was evaluated for (header.from), when given. */
  dmarcDomain: string | null;
}

const VERDICTS = new Set<AuthVerdict>(['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', 'policy']);

/** Removes RFC 5322 comments "( ... )" (nested) — results often carry them: `spf=pass (sender IP is 1.2.3.4)`. */
function stripComments(value: string): string {
  let out = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && i + 1 < value.length) {
      if (depth === 0) out += c + value[i + 1];
      i++;
      continue;
    }
    if (c === '"' && depth === 0) quoted = !quoted;
    if (!quoted && c === '(') { depth++; continue; }
    if (!quoted && c === ')' && depth > 0) { depth--; continue; }
    if (depth === 0) out += c;
  }
  return out;
}

/** Parses one Authentication-Results header value; null when it is not one. */
export function parseAuthenticationResults(value: string): MailAuthResults | null {
  // Unfold first: MTAs fold this long header over several lines.
  const parts = stripComments(value.replace(/\r?\n[ \t]+/g, ' ')).split(';').map((p) => p.trim()).filter(Boolean);
  const authservId = parts.shift()?.split(/\s+/)[0]?.toLowerCase();
  if (!authservId || authservId.includes('=')) return null;
  const res: MailAuthResults = { authservId, spf: null, dkim: null, dmarc: null, dmarcDomain: null };
  for (const part of parts) {
    const m = /^([a-z0-9-]+)\s*=\s*([a-z]+)\b(.*)$/is.exec(part);
    if (!m) continue;
    const method = m[1]!.toLowerCase();
    const verdict = m[2]!.toLowerCase() as AuthVerdict;
    if (!VERDICTS.has(verdict)) continue;
    if (method === 'spf' && res.spf === null) res.spf = verdict;
    // Several signatures: one passing signature is enough for DKIM.
    if (method === 'dkim' && (res.dkim === null || verdict === 'pass')) res.dkim = verdict;
    if (method === 'dmarc' && res.dmarc === null) {
      res.dmarc = verdict;
      res.dmarcDomain = /header\.from\s*=\s*"?([^\s";]+)/i.exec(m[3]!)?.[1]?.toLowerCase() ?? null;
    }
  }
  return res;
}

/**
 * The verdicts of our MTA: the first (topmost, i.e. last added) Authentication-Results header whose
 * authserv-id is `trustedId`; without a configured id, the topmost header. A forged header can only
 * claim a pass, which changes nothing compared with having no header at all (threading is the default);
 * set MAIL_AUTHSERV_ID so that a forged "fail" or "pass" below your MTA's header is never read.
 */
export function authResultsOf(headerValues: readonly string[], trustedId: string | undefined): MailAuthResults | null {
  for (const v of headerValues) {
    const parsed = parseAuthenticationResults(v);
    if (!parsed) continue;
    if (!trustedId || parsed.authservId === trustedId.toLowerCase()) return parsed;
  }
  return null;
}

/** True when DMARC failed for the domain of the address the mail claims to be from. */
export function failsDmarcFor(auth: MailAuthResults | null, fromAddress: string): boolean {
  if (!auth || auth.dmarc !== 'fail') return false;
  const domain = fromAddress.split('@')[1]?.toLowerCase();
  // No header.from given: the verdict is about the From header, which is the claimed sender.
  return auth.dmarcDomain === null || auth.dmarcDomain === domain;
}
