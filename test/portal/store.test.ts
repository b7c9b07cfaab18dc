import { Types } from 'mongoose';
import type { Database } from '../../src/store/database.js';
import {
  RateLimiter, Sessions, SigninLinks, createPortalModels, purgeExpired, sha256, type PortalModels,
} from '../../src/portal/store.js';
import { testDatabase } from '../support/db.js';

let db: Database;
let models: PortalModels;
let now = new Date('2026-01-01T10:00:00Z');
const clock = () => now;
const MIN = 60_000;
const personId = String(new Types.ObjectId());

beforeAll(async () => {
  db = await testDatabase('portalstore');
  models = createPortalModels(db.connection);
  for (const m of Object.values(models)) await m.createIndexes();
});
afterAll(async () => { await db.close(); });
beforeEach(() => { now = new Date('2026-01-01T10:00:00Z'); });

describe('sign-in links', () => {
  test('are stored only as a SHA-256 hash of the token', async () => {
    const links = new SigninLinks(models, clock);
    const token = await links.issue(personId, { ttlMs: 10 * MIN, purpose: 'signin' });
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const docs = await models.SigninLink.find({}).lean();
    const dump = JSON.stringify(docs);
    expect(dump).not.toContain(token);
    expect(docs.some((d) => d._id === sha256(token))).toBe(true);
  });

  test('work once: the second redemption fails', async () => {
    const links = new SigninLinks(models, clock);
    const token = await links.issue(personId, { ttlMs: 10 * MIN, purpose: 'email', ticketNumber: 7 });
    expect(await links.redeem(token)).toEqual({ personId, ticketNumber: 7 });
    expect(await links.redeem(token)).toBeNull();
  });

  test('of concurrent redemptions exactly one succeeds', async () => {
    const links = new SigninLinks(models, clock);
    const token = await links.issue(personId, { ttlMs: 10 * MIN, purpose: 'signin' });
    const results = await Promise.all(Array.from({ length: 8 }, () => links.redeem(token)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  test('expire after their lifetime (10 minutes for typed-in requests)', async () => {
    const links = new SigninLinks(models, clock);
    const fresh = await links.issue(personId, { ttlMs: 10 * MIN, purpose: 'signin' });
    const stale = await links.issue(personId, { ttlMs: 10 * MIN, purpose: 'signin' });
    now = new Date(now.getTime() + 10 * MIN - 1000);
    expect(await links.redeem(fresh)).not.toBeNull();
    now = new Date(now.getTime() + 1001);
    expect(await links.redeem(stale)).toBeNull();
  });

  test('reject unknown and malformed tokens', async () => {
    const links = new SigninLinks(models, clock);
    expect(await links.redeem('x'.repeat(43))).toBeNull();
    expect(await links.redeem('')).toBeNull();
    expect(await links.redeem('{"$gt":""}')).toBeNull();
  });
});

describe('sessions', () => {
  test('are found by cookie value until they expire, and not after destroy', async () => {
    const sessions = new Sessions(models, clock);
    const { cookieValue, session } = await sessions.create(personId, 60 * MIN);
    expect(JSON.stringify(await models.Session.find({}).lean())).not.toContain(cookieValue);
    expect(await sessions.get(cookieValue)).toMatchObject({ personId, csrf: session.csrf });
    now = new Date(now.getTime() + 60 * MIN + 1);
    expect(await sessions.get(cookieValue)).toBeNull();
    now = new Date('2026-01-01T10:00:00Z');
    await sessions.destroy(cookieValue);
    expect(await sessions.get(cookieValue)).toBeNull();
  });
});

describe('rate limiter', () => {
  test('allows `limit` hits per key and window, then refuses; other keys and the next window are unaffected', async () => {
    const limiter = new RateLimiter(models, clock);
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await limiter.hit('signin:address:a@x.example', 3, 15 * MIN));
    expect(results).toEqual([true, true, true, false]);
    expect(await limiter.hit('signin:address:b@x.example', 3, 15 * MIN)).toBe(true);
    now = new Date(now.getTime() + 15 * MIN);
    expect(await limiter.hit('signin:address:a@x.example', 3, 15 * MIN)).toBe(true);
  });

  test('counts concurrent hits safely, so a burst never gets past the limit', async () => {
    const limiter = new RateLimiter(models, clock);
    const results = await Promise.all(Array.from({ length: 10 }, () => limiter.hit('signin:ip:10.0.0.1', 4, 15 * MIN)));
    expect(results.filter(Boolean).length).toBeLessThanOrEqual(4);
    // Once the window is full, a flood of refused requests stores nothing more.
    const rows = await models.RateHit.countDocuments({ key: 'signin:ip:10.0.0.1' });
    for (let i = 0; i < 5; i++) expect(await limiter.hit('signin:ip:10.0.0.1', 4, 15 * MIN)).toBe(false);
    expect(await models.RateHit.countDocuments({ key: 'signin:ip:10.0.0.1' })).toBe(rows);
  });

  test('holds across instances: two limiters on the same database share the count', async () => {
    const a = new RateLimiter(models, clock);
    const b = new RateLimiter(createPortalModels(db.connection), clock);
    expect(await a.hit('signin:ip:10.0.0.2', 2, 15 * MIN)).toBe(true);
    expect(await b.hit('signin:ip:10.0.0.2', 2, 15 * MIN)).toBe(true);
    expect(await a.hit('signin:ip:10.0.0.2', 2, 15 * MIN)).toBe(false);
  });
});

test('purgeExpired deletes expired links, sessions and rate-limit rows and keeps live ones', async () => {
  const links = new SigninLinks(models, clock);
  const live = await links.issue(personId, { ttlMs: 60 * MIN, purpose: 'signin' });
  await links.issue(personId, { ttlMs: 1 * MIN, purpose: 'signin' });
  await purgeExpired(models, new Date(now.getTime() + 2 * MIN));
  expect(await models.SigninLink.countDocuments({ expiresAt: { $lt: new Date(now.getTime() + 2 * MIN) } })).toBe(0);
  expect(await links.redeem(live)).not.toBeNull();
});
