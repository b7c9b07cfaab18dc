import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createApp, type App, type DeskbridgeModule } from '../../src/app.js';
import { createConsoleModule } from '../../src/console/module.js';
import { createPortalModule } from '../../src/portal/module.js';
import { Browserless, outbox, type OutboxMail } from '../portal/support.js';
import { freshDbName, testConfig, testMongoUri } from '../support/db.js';
import { freePort } from '../../src/store/embedded.js';

export { freePort };

export { Browserless, outbox };


export interface ConsoleTestApp {
  app: App;
  url: string;
  dataDir: string;
  /** Every log line the app wrote (JSON). */
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/**
 * The real app with the console (and the portal, for the links to it), mail going to .eml files
 * in a fresh DATA_DIR/outbox, logs collected so a test can read what the log prints.
 */
export async function startConsoleApp(opts: { env?: Record<string, string>; modules?: DeskbridgeModule[]; publicUrl?: string; port?: number; dbName?: string } = {}): Promise<ConsoleTestApp> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'deskbridge-console-'));
  const port = opts.port ?? (await freePort());
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      cb();
    },
  });
  const config = testConfig({ DATA_DIR: dataDir, PUBLIC_URL: opts.publicUrl ?? `http://127.0.0.1:${port}`, LOG_LEVEL: 'info', INBOUND_SMTP_ENABLED: 'false', ...opts.env });
  const app = await createApp(config, {
    mongoUri: testMongoUri(), dbName: opts.dbName ?? freshDbName('console'), logger: pino({ level: 'info' }, sink),
    modules: [createPortalModule(), ...(opts.modules ?? []), createConsoleModule()], workers: false,
  });
  await app.listen(port, '127.0.0.1');
  return {
    app, url: `http://127.0.0.1:${port}`, dataDir, logs,
    async close() {
      await app.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls the outbox for a mail to `to`, not among `seen`, whose text matches `pattern`; returns the match. */
export async function waitForMail(dataDir: string, to: string, pattern: RegExp, seen: Set<string> = new Set(), timeoutMs = 5000): Promise<{ match: string; mail: OutboxMail }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const mail = (await outbox(dataDir)).find((m) => m.to.includes(to) && !seen.has(m.file) && pattern.test(m.text));
    if (mail) {
      seen.add(mail.file);
      return { match: pattern.exec(mail.text)![0], mail };
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no mail to ${to} matching ${pattern} within ${timeoutMs} ms`);
}

export const CONSOLE_LINK = /https?:\/\/\S+\/console\/login\?token=[A-Za-z0-9_-]+/;

/** Signs a technician in over plain HTTP (request a link, read the .eml, redeem it). */
export async function signInHttp(t: ConsoleTestApp, email: string, seen = new Set<string>()): Promise<Browserless> {
  const b = new Browserless(t.url);
  const form = await b.get('/console/signin');
  const sent = await b.post('/console/signin', { csrf: Browserless.csrfOf(form.text), email });
  if (sent.status !== 200) throw new Error(`sign-in request answered ${sent.status}`);
  const { match } = await waitForMail(t.dataDir, email, CONSOLE_LINK, seen);
  const confirm = await b.get(match);
  const r = await b.post('/console/login', { csrf: Browserless.csrfOf(confirm.text), token: new URL(match).searchParams.get('token')! });
  if (r.status !== 303) throw new Error(`sign-in answered ${r.status}: ${r.text.slice(0, 200)}`);
  return b;
}

// ------------------------------------------------------------ browser (Debian's chromium via playwright-core)

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A missing chromium fails the suite with a clear message (CI installs it); it never skips. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** A page that records any dialog (a script the console let run would show one) and page errors. */
export async function watchedPage(context: BrowserContext): Promise<{ page: Page; dialogs: string[]; errors: string[] }> {
  const page = await context.newPage();
  const dialogs: string[] = [];
  const errors: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, dialogs, errors };
}

const DOCS = path.resolve('docs');

/**
 * The README's screenshots (docs/console-*.png) are rewritten only when asked
 * (UPDATE_SCREENSHOTS=1), so `npm test` leaves the tree clean.
 */
export async function docScreenshot(page: Page, name: string, opts: { fullPage?: boolean } = {}): Promise<void> {
  if (process.env.UPDATE_SCREENSHOTS !== '1') return;
  mkdirSync(DOCS, { recursive: true });
  await page.screenshot({ path: path.join(DOCS, name), fullPage: opts.fullPage ?? false });
}

/** Signs in in the browser: the form, the .eml in the outbox, the link, Continue. */
export async function signInBrowser(t: ConsoleTestApp, page: Page, email: string, seen: Set<string>): Promise<void> {
  await page.goto(`${t.url}/console/signin`);
  await page.fill('input[name=email]', email);
  await page.click('#signin button[type=submit]');
  await page.waitForSelector('.notice');
  const { match } = await waitForMail(t.dataDir, email, CONSOLE_LINK, seen);
  await page.goto(match);
  await page.click('#continue');
  await page.waitForURL(`${t.url}/console`);
}
