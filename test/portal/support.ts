import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { createApp, type App } from '../../src/app.js';
import { createLogger } from '../../src/logger.js';
import { createPortalModule } from '../../src/portal/module.js';
import { freshDbName, testConfig, testMongoUri } from '../support/db.js';
// A free loopback port, so PUBLIC_URL can name the port before the app listens.
import { freePort } from '../../src/store/embedded.js';


export interface PortalTestApp {
  app: App;
  url: string;
  dataDir: string;
  close(): Promise<void>;
}

/** The real app with the portal module, mail going to .eml files in a fresh DATA_DIR/outbox. */
export async function startPortalApp(env: Record<string, string> = {}): Promise<PortalTestApp> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'deskbridge-portal-'));
  const port = await freePort();
  const config = testConfig({ DATA_DIR: dataDir, PUBLIC_URL: `http://127.0.0.1:${port}`, ...env });
  const app = await createApp(config, {
    mongoUri: testMongoUri(), dbName: freshDbName('portal'), logger: createLogger('silent'), modules: [createPortalModule()], workers: false,
  });
  await app.listen(port, '127.0.0.1');
  return {
    app, url: `http://127.0.0.1:${port}`, dataDir,
    async close() {
      await app.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface OutboxMail {
  file: string;
  to: string;
  subject: string;
  text: string;
}

/** Every mail in the outbox, parsed with mailparser (real MIME). */
export async function outbox(dataDir: string): Promise<OutboxMail[]> {
  const dir = path.join(dataDir, 'outbox');
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.eml')).sort();
  } catch {
    return [];
  }
  const mails: OutboxMail[] = [];
  for (const f of files) {
    const parsed = await simpleParser(readFileSync(path.join(dir, f)));
    const to = Array.isArray(parsed.to) ? parsed.to.map((a) => a.text).join(', ') : parsed.to?.text ?? '';
    mails.push({ file: f, to, subject: parsed.subject ?? '', text: parsed.text ?? '' });
  }
  return mails;
}

/** Polls the outbox (short interval) for a sign-in mail to `to` that is not among `seen`; returns its link. */
export async function waitForSigninLink(dataDir: string, to: string, seen: Set<string> = new Set(), timeoutMs = 5000): Promise<{ url: string; mail: OutboxMail }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const mail = (await outbox(dataDir)).find((m) => m.to.includes(to) && !seen.has(m.file));
    if (mail) {
      const url = /https?:\/\/\S+\/portal\/login\?token=[A-Za-z0-9_-]+/.exec(mail.text)?.[0];
      if (!url) throw new Error(`sign-in mail without a link:\n${mail.text}`);
      seen.add(mail.file);
      return { url, mail };
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no sign-in mail to ${to} within ${timeoutMs} ms`);
}

/** fetch with a cookie jar and no redirect following, enough to drive the portal's forms. */
export class Browserless {
  readonly cookies = new Map<string, string>();
  constructor(readonly base: string, readonly headers: Record<string, string> = {}) {}

  async request(method: string, pathOrUrl: string, body?: URLSearchParams | FormData, extra: Record<string, string> = {}) {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${this.base}${pathOrUrl}`;
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, {
      method, body, redirect: 'manual',
      headers: { ...this.headers, ...(cookie ? { cookie } : {}), ...extra },
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i);
      const value = pair!.slice(i + 1);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { status: res.status, headers: res.headers, text: await res.text(), setCookies: res.headers.getSetCookie() };
  }

  get(p: string, extra?: Record<string, string>) {
    return this.request('GET', p, undefined, extra);
  }

  post(p: string, fields: Record<string, string>, extra?: Record<string, string>) {
    return this.request('POST', p, new URLSearchParams(fields), extra);
  }

  /** Reads the CSRF token out of a page's form. */
  static csrfOf(html: string): string {
    const m = /name="csrf" value="([^"]+)"/.exec(html);
    if (!m) throw new Error('no CSRF field on page');
    return m[1]!;
  }

  /** Requests a sign-in link for `email` and follows it: the whole magic-link flow over HTTP. */
  async signIn(dataDir: string, email: string, seen = new Set<string>()): Promise<void> {
    const form = await this.get('/portal/signin');
    const sent = await this.post('/portal/signin', { csrf: Browserless.csrfOf(form.text), email });
    if (sent.status !== 200) throw new Error(`sign-in request answered ${sent.status}`);
    const { url } = await waitForSigninLink(dataDir, email, seen);
    await this.openLink(url);
  }

  /** Opens a sign-in link (confirmation page, then the POST that redeems it). */
  async openLink(url: string): Promise<{ status: number; location: string | null; text: string }> {
    const confirm = await this.get(url);
    if (confirm.status === 303) return { status: 303, location: confirm.headers.get('location'), text: confirm.text };
    const token = new URL(url).searchParams.get('token')!;
    const r = await this.post('/portal/login', { csrf: Browserless.csrfOf(confirm.text), token });
    return { status: r.status, location: r.headers.get('location'), text: r.text };
  }
}

export const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));
