import type { Browser } from 'playwright-core';
import { Browserless, launchChromium, signInBrowser, signInHttp, startConsoleApp, watchedPage, type ConsoleTestApp } from './support.js';

/*
 * The people page in a real browser: an admin makes a contact the customer admin of their company
 * (the portal then shows them every ticket of that customer) and takes it back; the toggle is only
 * offered for contacts with a customer; a technician gets 403 and nothing changes.
 */

const ANN = { email: 'ann@it.example', name: 'Ann Admin' };
const TOM = { email: 'tom@it.example', name: 'Tom Tech' };
const JANE = { email: 'jane@corp.example', name: 'Jane Doe' };
const BOB = { email: 'bob@home.example', name: 'Bob Solo' };

let t: ConsoleTestApp;
let browser: Browser;
const seen = new Set<string>();

beforeAll(async () => {
  browser = await launchChromium();
  t = await startConsoleApp();
  const s = t.app.ctx.service;
  await s.people.register({ email: ANN.email, name: ANN.name, roles: ['technician', 'admin'] });
  await s.people.register({ email: TOM.email, name: TOM.name, roles: ['technician'] });
  await s.people.register({ email: JANE.email, name: JANE.name, roles: ['contact'], customer: 'Acme' });
  await s.people.register({ email: BOB.email, name: BOB.name, roles: ['contact'] });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

const janeIsCustomerAdmin = async () => (await t.app.ctx.service.people.findByEmail(JANE.email))!.customerAdmin;

test('an admin makes a contact customer admin of their company and takes it back', async () => {
  const context = await browser.newContext({ locale: 'en-GB' });
  context.setDefaultTimeout(10_000);
  const { page, errors } = await watchedPage(context);
  await signInBrowser(t, page, ANN.email, seen);
  await page.goto(`${t.url}/console/admin/people`);
  const row = (email: string) => page.locator('#people tbody tr', { hasText: email });
  // Offered for a contact with a customer only: not for Bob (no customer) nor technicians.
  await expect(row(BOB.email).locator('.customer-admin-toggle').count()).resolves.toBe(0);
  await expect(row(TOM.email).locator('.customer-admin-toggle').count()).resolves.toBe(0);
  expect(await janeIsCustomerAdmin()).toBe(false);

  await row(JANE.email).getByRole('button', { name: `Make customer admin: ${JANE.email}` }).click();
  await page.waitForURL(`${t.url}/console/admin/people?saved=1`);
  expect(await janeIsCustomerAdmin()).toBe(true);
  await expect(row(JANE.email).locator('.customer-admin').textContent()).resolves.toBe('customer admin');

  await row(JANE.email).getByRole('button', { name: `Remove customer admin: ${JANE.email}` }).click();
  await page.waitForURL(`${t.url}/console/admin/people?saved=1`);
  expect(await janeIsCustomerAdmin()).toBe(false);
  await expect(row(JANE.email).locator('.customer-admin').count()).resolves.toBe(0);
  expect(errors).toEqual([]);
  await context.close();
}, 60_000);

test('a contact without a customer cannot be made customer admin; a technician gets 403', async () => {
  const admin = await signInHttp(t, ANN.email, seen);
  const adminCsrf = Browserless.csrfOf((await admin.get('/console/admin/people')).text);
  const bob = (await t.app.ctx.service.people.findByEmail(BOB.email))!;
  const jane = (await t.app.ctx.service.people.findByEmail(JANE.email))!;
  expect((await admin.post(`/console/admin/people/${bob._id}/customer-admin`, { csrf: adminCsrf, customerAdmin: '1' })).status).toBe(400);
  expect((await t.app.ctx.service.people.findByEmail(BOB.email))!.customerAdmin).toBe(false);
  // Without the session's CSRF token nothing changes either.
  expect((await admin.post(`/console/admin/people/${jane._id}/customer-admin`, { csrf: 'forged', customerAdmin: '1' })).status).toBe(403);

  const tech = await signInHttp(t, TOM.email, seen);
  const csrf = Browserless.csrfOf((await tech.get('/console')).text);
  expect((await tech.post(`/console/admin/people/${jane._id}/customer-admin`, { csrf, customerAdmin: '1' })).status).toBe(403);
  expect(await janeIsCustomerAdmin()).toBe(false);
}, 60_000);
