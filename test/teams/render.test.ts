import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { refresh } from './kit/activities.js';
import { contractsDir, contractTest, repoRoot, skipReason } from './kit/contracts.js';
import { startTeams, type TeamsHarness } from './kit/harness.js';

/**
 * Renders a representative ticket card, as a technician sees it after a refresh, with the
 * adaptivecards HTML renderer and Teams' host config in headless Chromium; keeps the PNG in docs/.
 */
const CHROMIUM = '/usr/bin/chromium';
const itc = contractTest('teams card rendering');
let h: TeamsHarness;
let browser: Browser | null = null;

beforeAll(async () => {
  h = await startTeams();
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

itc(`the ticket card renders in Chromium with its status, presence row and actions${skipReason}`, async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium); this test renders the card and must not be skipped`);
  }
  const tom = await h.person('Tom Tech', 'tom@it.example');
  const others = [];
  for (const [name, email] of [['Ann Admin', 'ann@it.example'], ['Raj Patel', 'raj@it.example'], ['Lena Berg', 'lena@it.example'], ['Ode Mensah', 'ode@it.example'], ['Kim Lee', 'kim@it.example'], ['Sam Roe', 'sam@it.example']] as const) {
    others.push(await h.person(name, email));
  }
  const created = await h.t.api('POST', '/tickets', { title: 'Printer on fire', description: 'The 3rd floor printer is smoking.', requester: { email: 'jane@corp.example', name: 'Jane Doe' }, priority: 'High' });
  const n = created.body.number;
  await h.t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'Please step away from it, we are on our way.', author: { email: 'tom@it.example' }, status: 'Pending' });
  await h.t.api('PATCH', `/tickets/${n}`, { assignee: { email: 'tom@it.example' } });
  for (const o of others) await h.post(refresh(h.connector.url, o, n));
  const card = (await h.post(refresh(h.connector.url, tom, n))).body.value;

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    // playwright gives every launch a new empty profile of its own
  });
  const page = await browser.newPage({ viewport: { width: 560, height: 900 }, deviceScaleFactor: 1 });
  await page.setContent(`<!doctype html><html><head><meta charset="utf-8"><style>body{margin:0;background:#f5f5f5;font-family:'Segoe UI',system-ui,sans-serif} #root{width:520px;margin:16px;background:#fff;border-radius:6px;box-shadow:0 1px 4px rgba(0,0,0,.2)}</style></head><body><div id="root"></div></body></html>`);
  await page.addScriptTag({ path: path.join(repoRoot, 'node_modules/adaptivecards/dist/adaptivecards.min.js') });
  const hostConfig = JSON.parse(readFileSync(path.join(contractsDir, 'adaptivecards', 'hostconfig.microsoft-teams-light.json'), 'utf8'));
  const problems = await page.evaluate(({ card, hostConfig }) => {
    const AC = (window as any).AdaptiveCards;
    const ac = new AC.AdaptiveCard();
    ac.hostConfig = new AC.HostConfig(hostConfig);
    const ctx = new AC.SerializationContext();
    ac.parse(card, ctx);
    const el = ac.render();
    document.getElementById('root')!.appendChild(el);
    const out: string[] = [];
    for (let i = 0; i < ctx.eventCount; i++) out.push(ctx.getEventAt(i).message);
    return out;
  }, { card, hostConfig });
  expect(problems).toEqual([]);
  const root = page.locator('#root');
  const text = await root.innerText();
  expect(text).toContain(`#${n} Printer on fire`);
  expect(text).toContain('Pending');
  expect(text).toMatch(/Working now · You, Ann Admin and 5 more are working on this|Working now · You, \w+ \w+ and 5 more are working on this/);
  expect(text).toContain('You');
  expect(text).toContain('+2 more');
  const buttons = await root.locator('button').allInnerTexts();
  expect(buttons).toEqual(expect.arrayContaining(['Reply', 'Internal note', 'Edit', 'Assign', 'More']));
  const png = await root.screenshot();
  writeFileSync(path.join(repoRoot, 'docs', 'teams-card.png'), png);
  expect(png.length).toBeGreaterThan(5_000);
}, 60_000);
