import type { Browser } from 'playwright-core';
import { consoleLiveFeedOf } from '../../src/console/module.js';
import { freshDbName } from '../support/db.js';
import { launchChromium, signInBrowser, startConsoleApp, watchedPage, type ConsoleTestApp } from './support.js';

/*
 * Two app instances on one database (as behind a load balancer): a change made through instance A
 * reaches console pages open on instance B, in a real browser. B reads what A stored by tailing the
 * events collection: one query per poll for the whole instance, however many pages are open, and
 * none while no page is open.
 */

const POLL_MS = 200;
const TOM = { email: 'tom@it.example', name: 'Tom Tech' };
const JANE = { email: 'jane@corp.example' };

let a: ConsoleTestApp;
let b: ConsoleTestApp;
let browser: Browser;
const seen = new Set<string>();

/** `events` reads by the given app's connection, counted while they happen. */
let eventReads = 0;

beforeAll(async () => {
  const dbName = freshDbName('live');
  const env = { CONSOLE_LIVE_POLL_MS: String(POLL_MS) };
  a = await startConsoleApp({ dbName, env });
  b = await startConsoleApp({ dbName, env });
  browser = await launchChromium();
  await a.app.ctx.service.people.register({ email: TOM.email, name: TOM.name, roles: ['technician'] });
  await a.app.ctx.service.createTicket({ title: 'Printer jams', description: 'Page 2', requester: JANE, source: 'email' });
  const bConnection = b.app.ctx.db.connection;
  bConnection.base.set('debug', function (this: { conn?: unknown }, collection: string, method: string) {
    if (collection === 'events' && method === 'find' && this?.conn === bConnection) eventReads++;
  });
}, 90_000);

afterAll(async () => {
  a?.app.ctx.db.connection.base.set('debug', false);
  await browser?.close();
  await a?.close();
  await b?.close();
});

test('a change through instance A shows on the list and the ticket page open on instance B', async () => {
  const context = await browser.newContext({ locale: 'en-GB' });
  context.setDefaultTimeout(10_000);
  const { page, errors } = await watchedPage(context);
  await signInBrowser(b, page, TOM.email, seen);
  await page.waitForSelector('body[data-live="on"]');
  // B's own dispatcher never hears of this: A stores it.
  await a.app.ctx.service.createTicket({ title: 'Monitor flickers', description: 'Flicker', requester: JANE, source: 'email' });
  await page.waitForSelector('tr[data-number="2"]', { timeout: 5_000 });

  const ticket = await context.newPage();
  await ticket.goto(`${b.url}/console/tickets/1`);
  await ticket.waitForSelector('body[data-live="on"]');
  expect(await ticket.locator('#changed-live').isHidden()).toBe(true);
  await a.app.ctx.service.updateTicket(1, { priority: 'High' }, { email: JANE.email });
  await ticket.waitForSelector('#changed-live:not([hidden])', { timeout: 5_000 });
  expect(errors).toEqual([]);
  await context.close();
}, 60_000);

test('one tail read per poll for the whole instance, and none while no page is open', async () => {
  const feed = consoleLiveFeedOf(b.app.ctx)!;
  const cookie = await signedInCookie();
  const streams: ReadableStreamDefaultReader<Uint8Array>[] = [];
  const open = async () => {
    const controller = new AbortController();
    const r = await fetch(`${b.url}/console/events`, { headers: { cookie, accept: 'text/event-stream' }, signal: controller.signal });
    expect(r.status).toBe(200);
    streams.push(r.body!.getReader());
    return controller;
  };
  const readsDuring = async (ms: number) => {
    const before = eventReads;
    await new Promise((r) => setTimeout(r, ms));
    return eventReads - before;
  };

  const one = await open();
  await feed.pollNow();
  const withOne = await readsDuring(2_000);
  const more = [await open(), await open(), await open()];
  const withFour = await readsDuring(2_000);
  // About 2000 / POLL_MS reads in each period (fewer on a slow machine), not four times as many.
  expect(withOne).toBeGreaterThan(0);
  expect(withOne).toBeLessThanOrEqual(2_000 / POLL_MS + 2);
  expect(withFour).toBeLessThanOrEqual(2_000 / POLL_MS + 2);

  // What another instance's internal note puts on the stream: which ticket changed, never its text.
  const SECRET = 'Vendor contract ends in March';
  await a.app.ctx.service.addEntry(1, { kind: 'note', text: SECRET, author: { email: TOM.email }, source: 'api' });
  const decoder = new TextDecoder();
  let received = '';
  while (!/data: .*"entry\.added"/.test(received)) {
    const { value, done } = await streams[0]!.read();
    if (done) throw new Error('stream ended');
    received += decoder.decode(value);
  }
  expect(received).toMatch(/"ticketNumber":1/);
  expect(received).not.toContain(SECRET);

  for (const c of [one, ...more]) c.abort();
  // The server sees each closed stream when its socket closes (later on a loaded machine); once the
  // last page is gone, and one poll already running has finished, the tail reads nothing more.
  const until = Date.now() + 10_000;
  while (feed.listenerCount > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  expect(feed.listenerCount).toBe(0);
  await new Promise((r) => setTimeout(r, POLL_MS));
  expect(await readsDuring(1_000)).toBe(0);
}, 30_000);

/** B's session cookie for plain HTTP, by signing in through the browser once more. */
async function signedInCookie(): Promise<string> {
  const context = await browser.newContext();
  const { page } = await watchedPage(context);
  await signInBrowser(b, page, TOM.email, seen);
  const cookies = await context.cookies(b.url);
  await context.close();
  return cookies.map((c) => `${c.name}=${c.value}`).join('; ');
}
