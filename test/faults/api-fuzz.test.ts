import { startTestApp, TEST_TOKEN, type TestApp } from '../support/db.js';

/*
 * The JSON API fuzzed from its schemas: for every route, start from a valid body (or query) and
 * replace each field in turn with hostile values (MongoDB operators, wrong types, prototype keys,
 * oversized strings), add hostile keys, send hostile whole bodies (arrays, invalid JSON, > 2 MB)
 * and hostile path parameters and query strings. Every answer must be a 4xx with a JSON error
 * message (never a 5xx), hostile input must write nothing, and no operator from the input may
 * reach the database: every command the driver sends is captured and searched for the marker the
 * injected operators carry.
 */

const MARK = 'ǂfuzzǂ';
const TECH = 'fuzz-tech@it.example';
const JANE = 'fuzz-jane@corp.example';

let t: TestApp;
/** Every collection call the app makes through mongoose (models and raw `Model.collection`). */
const commands: { commandName: string; command: unknown }[] = [];
let ticket: number;
let other: number;
let templateId: string;

beforeAll(async () => {
  t = await startTestApp();
  await t.api('POST', '/people', { email: TECH, name: 'Fuzz Tech', roles: ['technician'] });
  ticket = (await t.api('POST', '/tickets', { title: 'fuzz target', description: 'hello', requester: { email: JANE } })).body.number;
  other = (await t.api('POST', '/tickets', { title: 'fuzz other', requester: { email: JANE } })).body.number;
  templateId = (await t.api('POST', '/templates', { name: 'fuzz template', body: 'Hi {{requester.firstName}}' })).body.id;
  t.app.ctx.db.connection.base.set('debug', (collection: string, method: string, ...args: unknown[]) => {
    commands.push({ commandName: `${collection}.${method}`, command: structuredCloneSafe(args) });
  });
  // The capture works: a plain read shows up.
  await t.api('GET', '/tickets');
  expect(commands.some((c) => c.commandName.startsWith('tickets.'))).toBe(true);
});
afterAll(async () => { await t.close(); });

function structuredCloneSafe(v: unknown): unknown {
  try { return JSON.parse(JSON.stringify(v)); } catch { return String(v); }
}

/** Hostile values for one field: operators (carrying the marker), wrong types, huge and odd strings. */
const hostileValues: unknown[] = [
  { $gt: MARK }, { $ne: MARK }, { $in: [MARK] }, { $regex: MARK }, { $where: MARK }, { $expr: { $eq: [MARK, MARK] } },
  { $set: { title: MARK } }, { 'a.b': MARK }, JSON.parse(`{"__proto__": {"polluted": "${MARK}"}}`),
  { constructor: { prototype: { polluted: MARK } } }, [{ $gt: MARK }], [MARK, { $ne: MARK }],
  123456789, -1, 1.5, 1e308, true, false, {}, 'x'.repeat(1_100_000),
];
/** Values some fields legitimately accept (null for nullable fields, [] for lists): never a 5xx. */
const maybeValid: unknown[] = [null, [], 0, ''];
/** Odd but well-typed strings: may be accepted, never a 5xx. */
const oddStrings = ['', ' ', '\u0000', '\ud800', '🙂'.repeat(100), 'Ω≈ç√∫˜µ≤≥÷', '<script>alert(1)</script>', '$gt', 'a.b', '{"$gt":""}', '%00', '../../etc/passwd'];

interface Route { method: string; path: string; body?: Record<string, unknown> }
const routes = (): Route[] => [
  { method: 'POST', path: '/tickets', body: { title: 'T', description: 'D', requester: { email: JANE, name: 'Jane' }, priority: 'High', type: 'Request', impact: 'Low', productFamily: 'P', customer: 'C', status: 'Open', assignee: { email: TECH }, cc: ['cc@corp.example'], createdBy: { email: TECH } } },
  { method: 'POST', path: `/tickets/${ticket}/entries`, body: { kind: 'reply', text: 'hi', author: { email: TECH }, status: 'Open', cc: ['cc@corp.example'], mentions: [{ email: TECH }] } },
  { method: 'PATCH', path: `/tickets/${ticket}`, body: { status: 'Open', priority: 'High', type: 'Request', impact: 'Low', productFamily: 'P', customer: 'C', title: 'T', assignee: { email: TECH }, requester: { email: JANE }, actor: { email: TECH } } },
  { method: 'POST', path: `/tickets/${ticket}/merge`, body: { into: other, actor: { email: TECH } } },
  { method: 'POST', path: `/tickets/${ticket}/time`, body: { minutes: 5, note: 'n', author: { email: TECH } } },
  { method: 'POST', path: `/tickets/${ticket}/read`, body: { author: { email: TECH } } },
  { method: 'POST', path: '/people', body: { email: 'new@corp.example', name: 'N', roles: ['contact'], customer: 'C', customerAdmin: false, avatarUrl: 'https://a.example/x.png' } },
  { method: 'PUT', path: '/settings', body: { defaultReplyType: 'reply', customStatuses: [{ name: 'Waiting on vendor', category: 'Pending' }], aiMayReadNotes: false, extra: { key: 'v' } } },
  { method: 'POST', path: '/templates', body: { name: 'N', body: 'B' } },
  { method: 'PUT', path: `/templates/${templateId}`, body: { name: 'N2', body: 'B' } },
  { method: 'POST', path: `/templates/${templateId}/render`, body: { ticket, technician: { email: TECH } } },
];

/** Every path to a field in a body, including inside nested objects and arrays. */
function fieldPaths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return [prefix, ...value.flatMap((v, i) => fieldPaths(v, [...prefix, i]))];
  if (value && typeof value === 'object') return [...(prefix.length ? [prefix] : []), ...Object.entries(value).flatMap(([k, v]) => fieldPaths(v, [...prefix, k]))];
  return [prefix];
}
function withValue(body: unknown, path: (string | number)[], v: unknown): unknown {
  const copy = structuredClone(body) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path[path.length - 1]!] = v;
  return copy;
}

async function send(method: string, path: string, body?: unknown, raw?: string, contentType = 'application/json') {
  const res = await fetch(`${t.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${TEST_TOKEN}`, ...(body !== undefined || raw !== undefined ? { 'content-type': contentType } : {}) },
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await res.text();
  let json: any = null;
  try { json = JSON.parse(text); } catch { /* checked below */ }
  return { status: res.status, json, text };
}

interface Problem { what: string; status: number; text: string }
const problems: Problem[] = [];
beforeEach(() => { problems.length = 0; });
async function expectRefused(what: string, method: string, path: string, body?: unknown, raw?: string, contentType?: string) {
  const r = await send(method, path, body, raw, contentType);
  const ok = r.status >= 400 && r.status < 500 && typeof r.json?.error?.message === 'string' && typeof r.json?.error?.code === 'string';
  if (!ok) problems.push({ what: `${method} ${path} ${what}`, status: r.status, text: r.text.slice(0, 300) });
  return r;
}

async function snapshot() {
  const db = t.app.ctx.db.connection.db!;
  const out: Record<string, unknown> = {};
  for (const name of ['tickets', 'entries', 'people', 'templates', 'settings', 'activities', 'events', 'timeEntries']) {
    out[name] = await db.collection(name).find({}, { projection: { pending: 0 } }).sort({ _id: 1 }).toArray();
  }
  return JSON.stringify(out);
}

function operatorsFromInput(): string[] {
  const found: string[] = [];
  const walk = (v: unknown, path: string) => {
    if (typeof v === 'string') {
      if (v.includes(MARK) && /(^|\.)\$/.test(path)) found.push(path);
      return;
    }
    if (!v || typeof v !== 'object') return;
    for (const [k, child] of Object.entries(v)) {
      if (k.startsWith('$') && JSON.stringify(child ?? null).includes(MARK)) found.push(`${path}.${k}`);
      walk(child, `${path}.${k}`);
    }
  };
  for (const c of commands) walk(c.command, c.commandName);
  return found;
}

test('hostile field values, keys and whole bodies on every route: 4xx with a JSON message, nothing written, no operator reaches the database', async () => {
  const before = await snapshot();
  commands.length = 0;
  let sent = 0;
  for (const r of routes()) {
    for (const path of fieldPaths(r.body)) {
      for (const v of hostileValues) {
        // A huge string is only hostile where the schema caps the length; elsewhere it is checked below.
        if (typeof v === 'string' && ['description', 'text', 'body', 'extra'].some((k) => path.includes(k))) continue;
        // A value of the field's own type may be valid (1.5 minutes, customerAdmin: true).
        const original = path.reduce<unknown>((node, k) => (node as Record<string | number, unknown>)[k], r.body);
        if (typeof v !== 'object' && typeof v === typeof original) continue;
        // Free-form settings (`extra`) legitimately hold any JSON value, except operator-like keys.
        if (path[0] === 'extra' && (v === null || typeof v !== 'object' || Object.keys(v as object).length === 0)) continue;
        await expectRefused(`${JSON.stringify(path)}=${JSON.stringify(v)?.slice(0, 60)}`, r.method, r.path, withValue(r.body, path, v));
        sent++;
      }
    }
    for (const key of ['$where', '$set', '__proto__', 'constructor', 'prototype', 'unknownField']) {
      await expectRefused(`extra key ${key}`, r.method, r.path, JSON.parse(JSON.stringify(r.body).replace(/^\{/, `{"${key}": {"polluted": "${MARK}"},`)));
      sent++;
    }
    for (const [what, raw, type] of [
      ['array body', '[1,2]', undefined], ['string body', '"x"', undefined], ['number body', '42', undefined], ['null body', 'null', undefined],
      ['invalid JSON', '{"title": ', undefined], ['trailing garbage', '{"a":1}}', undefined],
      ['body over 2 MB', JSON.stringify({ title: 'x'.repeat(2_200_000) }), undefined],
      ['form body', 'title=x&requester[email]=a@b.example', 'application/x-www-form-urlencoded'],
      ...(r.path === '/settings' ? [] : [['empty JSON body', '', undefined] as const, ['BOM', '\ufeff{}', undefined] as const]),
    ] as const) {
      await expectRefused(what, r.method, r.path, undefined, raw, type);
      sent++;
    }
  }
  console.log(`api-fuzz: ${sent} hostile bodies, ${commands.length} database commands captured`);
  expect(problems.slice(0, 30)).toEqual([]);
  expect(operatorsFromInput()).toEqual([]);
  expect(await snapshot()).toBe(before);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}, 300_000);

test('hostile path parameters and query strings: 4xx with a JSON message, no operator reaches the database', async () => {
  commands.length = 0;
  const before = await snapshot();
  const numbers = ['0', '-1', '1.5', '1e3', 'abc', '99999999999999999999', '%24gt', '%7B%22%24gt%22%3A1%7D', '%00', '..%2F..%2Fetc', `${ticket}%20`, '0x1F'];
  for (const n of numbers) {
    await expectRefused(`number ${n}`, 'GET', `/tickets/${n}`);
    await expectRefused(`number ${n}`, 'GET', `/tickets/${n}/activity`);
    await expectRefused(`number ${n}`, 'POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'x', author: { email: TECH } });
    await expectRefused(`number ${n}`, 'PATCH', `/tickets/${n}`, { priority: 'High' });
  }
  for (const id of ['nope', '%7B%22%24ne%22%3Anull%7D', '000000000000000000000000', 'aaaaaaaaaaaa', '%24where']) {
    await expectRefused(`template ${id}`, 'GET', `/templates/${id}`);
    await expectRefused(`template ${id}`, 'PUT', `/templates/${id}`, { name: 'a', body: 'b' });
    await expectRefused(`template ${id}`, 'DELETE', `/templates/${id}`);
    await expectRefused(`template ${id}`, 'POST', `/templates/${id}/render`, { ticket, technician: { email: TECH } });
  }
  const m = encodeURIComponent(MARK);
  const queries = [
    `status[$ne]=${m}`, `status[$gt]=${m}`, `assignee[$ne]=${m}`, `requester[$regex]=${m}`, `customer[$where]=${m}`,
    `status=${m}&status=${m}`, `limit=abc`, `limit=0`, `limit=1000`, `limit[$gt]=1`, `cursor=${m}`, `cursor[$gt]=1`,
    `__proto__[polluted]=${m}`, `constructor[prototype][polluted]=${m}`, `unknown=1`, `assignee=${m}`, `status=${'x'.repeat(5000)}`,
  ];
  for (const q of queries) await expectRefused(`?${q}`, 'GET', `/tickets?${q}`);
  for (const q of [`role[$ne]=${m}`, `role=${m}`, `q[$regex]=${m}`, `role=technician&role=contact`]) await expectRefused(`?${q}`, 'GET', `/people?${q}`);
  for (const q of [`view[$ne]=${m}`, `view=${m}`, 'view=contact&view=technician']) await expectRefused(`?${q}`, 'GET', `/tickets/${ticket}?${q}`);
  // Odd but well-typed query values may succeed; they must never be a 5xx.
  const enc = (s: string) => { try { return encodeURIComponent(s); } catch { return '%ED%A0%80'; /* a lone surrogate, as raw bytes */ } };
  for (const s of oddStrings) {
    for (const p of [`/tickets?customer=${enc(s)}`, `/tickets?requester=${enc(s)}`, `/people?q=${enc(s)}`]) {
      const r = await send('GET', p);
      if (r.status >= 500) problems.push({ what: `GET ${p}`, status: r.status, text: r.text.slice(0, 200) });
    }
  }
  expect(problems.slice(0, 10)).toEqual([]);
  expect(operatorsFromInput()).toEqual([]);
  expect(await snapshot()).toBe(before);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}, 300_000);

test('odd but well-typed values in every field: never a 5xx', async () => {
  commands.length = 0;
  for (const r of routes()) {
    for (const path of fieldPaths(r.body)) {
      const original = path.reduce<unknown>((node, k) => (node as Record<string | number, unknown>)[k], r.body);
      for (const s of [...(typeof original === 'string' ? oddStrings : []), ...maybeValid]) {
        const res = await send(r.method, r.path, withValue(r.body, path, s));
        if (res.status >= 500 || (res.status >= 400 && typeof res.json?.error?.message !== 'string')) {
          problems.push({ what: `${r.method} ${r.path} ${JSON.stringify(path)}=${JSON.stringify(s)}`, status: res.status, text: res.text.slice(0, 200) });
        }
      }
    }
  }
  expect(problems.slice(0, 10)).toEqual([]);
  expect(commands.length).toBeGreaterThan(100);
  expect(operatorsFromInput()).toEqual([]);
}, 300_000);
