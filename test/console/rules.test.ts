import type { Browser, Page } from 'playwright-core';
import { automationsModule } from '../../src/automations/module.js';
import { TEST_TOKEN } from '../support/db.js';
import { Browserless, launchChromium, signInBrowser, signInHttp, startConsoleApp, watchedPage, type ConsoleTestApp } from './support.js';

/*
 * The rule editor in a real browser (Debian's chromium via playwright-core) on the real app with
 * the automations module: an admin edits a rule, a ticket change through the JSON API fires it,
 * its run shows on the rule's page; bad input changes nothing; technicians get 403.
 */

const ANN = { email: 'ann@it.example', name: 'Ann Admin' };
const TOM = { email: 'tom@it.example', name: 'Tom Tech' };
const JANE = { email: 'jane@corp.example', name: 'Jane Doe' };
const RULE_NOTE = 'Escalated: VPN tickets put on hold go to Tom';

let t: ConsoleTestApp;
let browser: Browser;
let ruleId: string;
const seen = new Set<string>();

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${t.url}/api/v1${path}`, {
    method, body: body === undefined ? undefined : JSON.stringify(body),
    headers: { authorization: `Bearer ${TEST_TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
  });
  return { status: res.status, body: res.status === 204 ? null : await res.json() };
}

let adminState: Awaited<ReturnType<Awaited<ReturnType<Browser['newContext']>>['storageState']>> | undefined;
async function adminPage(): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext({ locale: 'en-GB', storageState: adminState });
  context.setDefaultTimeout(10_000);
  const w = await watchedPage(context);
  if (!adminState) {
    await signInBrowser(t, w.page, ANN.email, seen);
    adminState = await context.storageState();
  }
  return { page: w.page, errors: w.errors, close: () => context.close() };
}

beforeAll(async () => {
  browser = await launchChromium();
  t = await startConsoleApp({ modules: [automationsModule] });
  const s = t.app.ctx.service;
  await s.people.register({ email: ANN.email, name: ANN.name, roles: ['technician', 'admin'] });
  await s.people.register({ email: TOM.email, name: TOM.name, roles: ['technician'] });
  await s.people.register({ email: JANE.email, name: JANE.name, roles: ['contact'] });
  const created = await api('POST', '/automations', {
    name: 'VPN escalation', trigger: { type: 'field.changed', field: 'status', to: 'Pending' },
    actions: [{ type: 'addNote', text: 'placeholder' }],
  });
  expect(created.status).toBe(201);
  ruleId = created.body.id;
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

test('an admin edits conditions and actions in the browser; a ticket change through the API fires the rule; its run is listed', async () => {
  const { page, errors, close } = await adminPage();
  await page.goto(`${t.url}/console/admin/rules`);
  await page.getByRole('link', { name: 'Edit VPN escalation' }).click();
  await page.waitForURL(`${t.url}/console/admin/rules/${ruleId}/edit`);
  await expect(page.locator('#no-runs').isVisible()).resolves.toBe(true);

  // The selects offer the schema's choices only.
  const options = (sel: string) => page.locator(`${sel} option`).evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  expect(await options('#f-actions-0-priority')).toEqual(['Low', 'Medium', 'High', 'Critical']);
  expect(await options('#f-actions-0-assignee')).toEqual(['', ANN.email, TOM.email]);

  // Only the chosen types' fields show: the trigger's (field.changed: field and "changed to"), and
  // per action row its type's (addNote: the text; an empty row: none).
  const shown = (sel: string) => page.locator(sel).evaluateAll((els) => els.filter((e) => (e as HTMLElement).offsetParent !== null).map((e) => (e as HTMLSelectElement).name));
  expect(await shown('#rule-trigger select, #rule-trigger input')).toEqual(['trigger.type', 'trigger.field', 'trigger.to']);
  expect(await shown('.action[data-index="0"] select, .action[data-index="0"] input, .action[data-index="0"] textarea')).toEqual(['actions.0.type', 'actions.0.text']);
  expect(await shown('.action[data-index="1"] select, .action[data-index="1"] input, .action[data-index="1"] textarea')).toEqual(['actions.1.type']);
  await page.getByLabel(/^When/).selectOption('time.status');
  expect(await shown('#rule-trigger select, #rule-trigger input')).toEqual(['trigger.type', 'trigger.status', 'trigger.hours', 'trigger.sinceLastReply']);
  await page.getByLabel(/^When/).selectOption('field.changed');

  // No empty condition rows until asked for; asking keeps what was typed and saves nothing.
  await expect(page.locator('.condition').count()).resolves.toBe(0);
  await page.getByLabel(/^Action 1\b/).selectOption('setAssignee');
  await page.getByRole('button', { name: 'Add condition' }).click();
  await page.waitForSelector('.condition[data-index="0"]');
  await expect(page.locator('.condition').count()).resolves.toBe(1);
  expect(await options('#f-conditions-0-op')).toEqual(['equals', 'notEquals', 'in', 'contains']);
  await expect(page.getByLabel(/^Action 1\b/).inputValue()).resolves.toBe('setAssignee');
  expect((await api('GET', `/automations/${ruleId}`)).body.actions).toEqual([{ type: 'addNote', text: 'placeholder' }]);
  expect(await shown('.action[data-index="0"] select, .action[data-index="0"] input, .action[data-index="0"] textarea')).toEqual(['actions.0.type', 'actions.0.assignee']);

  await page.getByLabel('Condition 1: field').selectOption('title');
  await page.locator('#f-conditions-0-op').selectOption('contains');
  await page.locator('#f-conditions-0-value').fill('VPN');
  await page.locator('#f-actions-0-assignee').selectOption(TOM.email);
  await page.getByLabel(/^Action 2\b/).selectOption('addNote');
  await page.locator('#f-actions-1-text').fill(RULE_NOTE);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(`${t.url}/console/admin/rules/${ruleId}/edit?saved=1`);

  const stored = (await api('GET', `/automations/${ruleId}`)).body;
  expect(stored.conditions).toEqual([{ field: 'title', op: 'contains', value: 'VPN' }]);
  expect(stored.actions).toEqual([{ type: 'setAssignee', assignee: TOM.email }, { type: 'addNote', text: RULE_NOTE }]);
  expect(stored.trigger).toEqual({ type: 'field.changed', field: 'status', to: 'Pending' });

  // A ticket change through the JSON API: the VPN ticket meets the condition, the printer one does not.
  const vpn = (await api('POST', '/tickets', { title: 'VPN drops hourly', description: 'Every hour', requester: { email: JANE.email } })).body;
  const printer = (await api('POST', '/tickets', { title: 'Printer jams', description: 'Page 2', requester: { email: JANE.email } })).body;
  for (const n of [vpn.number, printer.number]) {
    expect((await api('PATCH', `/tickets/${n}`, { status: 'Pending', actor: { email: ANN.email } })).status).toBe(200);
  }
  await t.app.ctx.deliveries.drain();
  const fired = (await api('GET', `/tickets/${vpn.number}`)).body;
  expect(fired.assignee?.email).toBe(TOM.email);
  expect(fired.entries.some((e: { text: string; kind: string }) => e.kind === 'note' && e.text === RULE_NOTE)).toBe(true);
  const untouched = (await api('GET', `/tickets/${printer.number}`)).body;
  expect(untouched.assignee).toBeNull();
  expect(untouched.entries.some((e: { text: string }) => e.text === RULE_NOTE)).toBe(false);

  // The run, read from the activity log, on the rule's page.
  await page.goto(`${t.url}/console/admin/rules/${ruleId}/edit`);
  const runs = await page.locator('#rule-runs tbody tr').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-ticket')));
  expect(runs).toEqual([String(vpn.number)]);
  await expect(page.locator('#rule-runs tbody tr').first().textContent()).resolves.toContain('Ran');
  expect(errors).toEqual([]);
  await close();
}, 90_000);

test('an invalid submission shows the message next to the field and changes nothing', async () => {
  const before = (await api('GET', `/automations/${ruleId}`)).body;
  const { page, close } = await adminPage();
  await page.goto(`${t.url}/console/admin/rules/${ruleId}/edit`);
  // A time trigger without hours, and a note action left without text.
  await page.getByLabel(/^When/).selectOption('time.noTechnicianReply');
  await page.getByLabel(/^Action 3\b/).selectOption('addNote');
  const response = page.waitForResponse((r) => r.url().endsWith(`/admin/rules/${ruleId}/edit`) && r.request().method() === 'POST');
  await page.getByRole('button', { name: 'Save' }).click();
  expect((await response).status()).toBe(400);
  await expect(page.locator('#err-f-trigger-hours').isVisible()).resolves.toBe(true);
  await expect(page.locator('#f-trigger-hours').getAttribute('aria-describedby')).resolves.toBe('err-f-trigger-hours');
  await expect(page.locator('#err-f-actions-2-text').isVisible()).resolves.toBe(true);
  // What was typed comes back as typed.
  await expect(page.locator('#f-trigger-type').inputValue()).resolves.toBe('time.noTechnicianReply');
  await expect(page.locator('#f-actions-1-text').inputValue()).resolves.toBe(RULE_NOTE);
  expect((await api('GET', `/automations/${ruleId}`)).body).toEqual(before);

  // A status the settings do not know is refused by the store (as through the API), next to its field.
  const b = await signInHttp(t, ANN.email, seen);
  const form = await b.get(`/console/admin/rules/${ruleId}/edit`);
  const r = await b.post(`/console/admin/rules/${ruleId}/edit`, {
    csrf: Browserless.csrfOf(form.text), name: 'VPN escalation', enabled: '1', 'trigger.type': 'time.status', 'trigger.status': 'Nonexistent', 'trigger.hours': '2',
    'actions.0.type': 'setStatus', 'actions.0.status': 'Closed',
  });
  expect(r.status).toBe(400);
  expect(r.text).toMatch(/id="err-f-trigger-status"[^>]*>unknown status/);
  expect((await api('GET', `/automations/${ruleId}`)).body).toEqual(before);
  // A person who is not a technician cannot be assigned (the store's check, as through the API).
  const notTech = await b.post(`/console/admin/rules/${ruleId}/edit`, {
    csrf: Browserless.csrfOf(form.text), name: 'VPN escalation', enabled: '1', 'trigger.type': 'ticket.created',
    'actions.0.type': 'setAssignee', 'actions.0.assignee': JANE.email,
  });
  expect(notTech.status).toBe(400);
  expect(notTech.text).toMatch(/id="err-f-actions-0-assignee"[^>]*>jane@corp.example is not a technician/);
  expect((await api('GET', `/automations/${ruleId}`)).body).toEqual(before);
  // Without the CSRF token nothing is written either.
  const forged = await b.post(`/console/admin/rules/${ruleId}/edit`, { name: 'Forged', 'trigger.type': 'ticket.created', 'actions.0.type': 'addNote', 'actions.0.text': 'x' });
  expect(forged.status).toBe(403);
  expect((await api('GET', `/automations/${ruleId}`)).body).toEqual(before);
  await close();
});

test('create and delete a rule in the browser', async () => {
  const { page, close } = await adminPage();
  await page.goto(`${t.url}/console/admin/rules`);
  await page.locator('#new-rule').click();
  await page.getByLabel('Name', { exact: true }).fill('Critical on create');
  await page.getByLabel(/^When/).selectOption('ticket.created');
  await page.getByRole('button', { name: 'Add condition' }).click();
  await page.getByLabel('Condition 1: field').selectOption('title');
  await page.locator('#f-conditions-0-op').selectOption('in');
  await page.locator('#f-conditions-0-value').fill('Fire, Flood');
  await page.getByLabel(/^Action 1\b/).selectOption('setPriority');
  await page.locator('#f-actions-0-priority').selectOption('Critical');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.waitForLoadState();
  expect(await page.locator('.error').allTextContents()).toEqual([]);
  await page.waitForURL(/\/console\/admin\/rules\/[a-f0-9]{24}\/edit\?saved=1$/);
  const id = /rules\/([a-f0-9]{24})\/edit/.exec(page.url())![1]!;
  const created = (await api('GET', `/automations/${id}`)).body;
  expect(created).toMatchObject({ name: 'Critical on create', enabled: true, trigger: { type: 'ticket.created' }, conditions: [{ field: 'title', op: 'in', value: ['Fire', 'Flood'] }], actions: [{ type: 'setPriority', priority: 'Critical' }] });

  await page.getByRole('button', { name: 'Delete Critical on create' }).click();
  await page.waitForURL(`${t.url}/console/admin/rules?saved=1`);
  expect((await api('GET', `/automations/${id}`)).status).toBe(404);
  // Shipped rules are switched off, not deleted: no delete button.
  const builtin = (await api('GET', '/automations')).body.items.find((r: { builtin: string | null }) => r.builtin);
  await page.goto(`${t.url}/console/admin/rules/${builtin.id}/edit`);
  await expect(page.locator('#rule-delete').count()).resolves.toBe(0);
  await close();
});

test('a technician without the admin role gets 403 on every rule page and action, and nothing changes', async () => {
  const before = (await api('GET', `/automations/${ruleId}`)).body;
  const b = await signInHttp(t, TOM.email, seen);
  const csrf = Browserless.csrfOf((await b.get('/console')).text);
  expect((await b.get(`/console/admin/rules/${ruleId}/edit`)).status).toBe(403);
  expect((await b.get('/console/admin/rules/new')).status).toBe(403);
  const fields = { csrf, name: 'Taken over', 'trigger.type': 'ticket.created', 'actions.0.type': 'addNote', 'actions.0.text': 'x' };
  expect((await b.post(`/console/admin/rules/${ruleId}/edit`, fields)).status).toBe(403);
  expect((await b.post('/console/admin/rules', fields)).status).toBe(403);
  expect((await b.post(`/console/admin/rules/${ruleId}/delete`, { csrf })).status).toBe(403);
  expect((await api('GET', `/automations/${ruleId}`)).body).toEqual(before);
  expect((await api('GET', '/automations')).body.items.map((r: { name: string }) => r.name)).not.toContain('Taken over');
});

test('the rule form in German at 360 px: labelled, nothing wider than the screen', async () => {
  await adminPage().then((p) => p.close()); // makes sure the admin is signed in
  const context = await browser.newContext({ locale: 'de-DE', viewport: { width: 360, height: 740 }, storageState: adminState });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  await page.goto(`${t.url}/console/admin/rules/${ruleId}/edit`);
  await expect(page.getByLabel(/^Aktion 1\b/).inputValue()).resolves.toBe('setAssignee');
  await expect(page.getByRole('heading', { name: 'Letzte Ausführungen' }).isVisible()).resolves.toBe(true);
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
  await context.close();
});
