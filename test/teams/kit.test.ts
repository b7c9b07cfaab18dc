import { checkCard, expectValidCard } from './kit/card-validator.js';
import { ConnectorStandIn } from './kit/connector.js';
import { contractTest, skipReason } from './kit/contracts.js';

/** The kit's checks must catch what they claim to, or every test built on them proves nothing. */
const itc = contractTest('teams test kit');

itc(`the card validator rejects schema errors, parser errors, bad mentions and oversize cards${skipReason}`, () => {
  expect(checkCard({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock' }] }).schema.length).toBeGreaterThan(0);
  expect(checkCard({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'NoSuchElement', text: 'x' }] }).parser.length + checkCard({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'NoSuchElement' }] }).schema.length).toBeGreaterThan(0);
  expect(checkCard({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: 'hi' }], msteams: { entities: [{ type: 'mention', text: '<at>Ann</at>', mentioned: { id: '29:a', name: 'Ann' } }] } }).msteams)
    .toEqual(['mention text <at>Ann</at> does not appear in the card']);
  expect(() => expectValidCard({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: 'x'.repeat(30_000) }] })).toThrow(/size/);
  expect(() => expectValidCard({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: 'fine', wrap: true }] })).not.toThrow();
});

itc(`the connector stand-in flags calls outside ConnectorAPI.json and bodies that break its schema${skipReason}`, async () => {
  const c = await new ConnectorStandIn().start();
  try {
    await fetch(`${c.url}v3/not/a/route`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    await fetch(`${c.url}v3/conversations/abc/activities`, { method: 'POST', body: JSON.stringify({ type: 42 }), headers: { 'content-type': 'application/json' } });
    const ok = await fetch(`${c.url}v3/conversations/abc/activities`, { method: 'POST', body: JSON.stringify({ type: 'message', text: 'hi' }), headers: { 'content-type': 'application/json' } });
    expect((await ok.json()).id).toBeTruthy();
    const problems = c.problems();
    expect(problems.some((p) => p.includes('no such operation'))).toBe(true);
    expect(problems.some((p) => p.includes('body/type'))).toBe(true);
    expect(c.calls[2]!.problems).toEqual([]);
    c.failNext(429, { retryAfter: '3' });
    const throttled = await fetch(`${c.url}v3/conversations/abc/activities`, { method: 'POST', body: '{"type":"message"}', headers: { 'content-type': 'application/json' } });
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('3');
  } finally {
    await c.stop();
  }
});
