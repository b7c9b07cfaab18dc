import { existsSync } from 'node:fs';
import path from 'node:path';
import { SlidingWindowLimiter, defaultContractsDir, slackLimitFor, startSlackStandIn, startTeamsStandIn, TEAMS_LIMITS } from '../../bench/lib/standins.js';

/*
 * The rate-limited stand-ins the outbound pacing benchmark (and channel tests) rely on: limits as
 * published, 429 with Retry-After when exceeded, and unhonoured Retry-Afters counted.
 */

const contracts = defaultContractsDir();
const haveContracts = existsSync(path.join(contracts, 'slack/web-api-methods-and-tiers.json'));
if (!haveContracts) console.warn(`standins: Slack tier tests skipped: no contracts at ${contracts} (set DESKBRIDGE_SHARED_DIR)`);
const withContracts = haveContracts ? test : test.skip;

test('sliding windows: every window must allow the call; the wait names the earliest free moment', () => {
  const l = new SlidingWindowLimiter(TEAMS_LIMITS);
  const t0 = 1_000_000;
  for (let i = 0; i < 7; i++) expect(l.take('c', t0 + i)).toBe(0);
  expect(l.take('c', t0 + 10)).toBe(990); // the 8th within a second waits until the first leaves the window
  expect(l.take('other', t0 + 10)).toBe(0); // per conversation
  // 60 per 30 s: spread 60 calls over 20 s (3 per second), the 61st must wait for the first.
  const slow = new SlidingWindowLimiter(TEAMS_LIMITS);
  for (let i = 0; i < 60; i++) expect(slow.take('c', t0 + i * 334)).toBe(0);
  expect(slow.take('c', t0 + 60 * 334)).toBe(30_000 - 60 * 334);
});

withContracts(`${haveContracts ? '' : '(skipped: no shared contracts) '}Slack limits come from the published tier list: postMessage 1/s per channel, chat.update Tier 3 (50/min)`, () => {
  expect(slackLimitFor('chat.postMessage')).toMatchObject({ perChannel: true, limits: [{ max: 1, windowMs: 1000 }], tier: 'SpecialTier_chat_postMessage' });
  expect(slackLimitFor('chat.update')).toMatchObject({ perChannel: false, limits: [{ max: 50, windowMs: 60_000 }], tier: 'Tier3' });
});

withContracts(`${haveContracts ? '' : '(skipped: no shared contracts) '}Slack stand-in: a second postMessage to a channel within 1 s is a 429 with Retry-After; another channel is free; ignoring Retry-After is counted`, async () => {
  const slack = await startSlackStandIn();
  try {
    const post = (channel: string) => fetch(`${slack.url}chat.postMessage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ channel, text: 'x' }) });
    const first = await post('C1');
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ ok: true, channel: 'C1' });
    const second = await post('C1');
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('1');
    expect(await second.json()).toEqual({ ok: false, error: 'ratelimited' });
    expect((await post('C2')).status).toBe(200);
    await post('C1'); // again before Retry-After passed
    expect(slack.stats).toMatchObject({ accepted: 2, rejected: 2, retryAfterIgnored: 1 });
    // Form-encoded bodies (as Slack clients may send) are understood too.
    const form = await fetch(`${slack.url}chat.update`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'channel=C1&ts=1.2&text=y' });
    expect(await form.json()).toMatchObject({ ok: true, ts: '1.2' });
  } finally {
    await slack.close();
  }
});

test('Teams stand-in: 7 activities per second per conversation, then 429 with Retry-After', async () => {
  const teams = await startTeamsStandIn();
  try {
    const send = (conv: string) => fetch(`${teams.url}/v3/conversations/${conv}/activities`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'message', text: 'x' }) });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await send('a')).status);
    expect(statuses.slice(0, 7).every((s) => s === 201)).toBe(true);
    const last = await send('a');
    expect(last.status).toBe(429);
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await send('b')).status).toBe(201);
    const update = await fetch(`${teams.url}/v3/conversations/b/activities/act-1`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'message' }) });
    expect(await update.json()).toEqual({ id: 'act-1' });
  } finally {
    await teams.close();
  }
});
