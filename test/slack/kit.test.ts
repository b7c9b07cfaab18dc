import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SlackContracts, slackContractsDir, slackSignature } from './kit/index.js';
import { describeWithContracts } from './support.js';

describeWithContracts('slack test kit', () => {
  const contracts = new SlackContracts();

  test('the signer reproduces Slack\'s worked signature example', () => {
    const v = JSON.parse(readFileSync(path.join(slackContractsDir(), 'signing-test-vector.json'), 'utf8'));
    expect(slackSignature(v.signing_secret, v.x_slack_request_timestamp, v.raw_body)).toBe(v.expected_x_slack_signature);
  });

  test('calls are checked against the Web API spec: method, required and unknown arguments, types', () => {
    expect(contracts.checkCall('chat.postMessage', { channel: 'C1', text: 'hi' })).toEqual([]);
    expect(contracts.checkCall('chat.postMesage', { channel: 'C1' })[0]).toMatch(/no such Web API method/);
    expect(contracts.checkCall('chat.update', { channel: 'C1', text: 'x' })).toContain('chat.update: missing required argument ts');
    expect(contracts.checkCall('chat.postMessage', { channel: 'C1', colour: 'red' })).toContain('chat.postMessage: unknown argument colour');
    expect(contracts.checkCall('chat.postMessage', { channel: 'C1', mrkdwn: 'maybe' })[0]).toMatch(/must be a boolean/);
    // newer than the 2020 spec but a current method
    expect(contracts.checkCall('chat.startStream', { channel: 'C1' })).toEqual([]);
  });

  test('blocks and views are checked against the Block Kit schema and the documented limits', () => {
    const bad = [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } }];
    expect(contracts.checkMessageBlocks(bad, 'm').join()).toMatch(/longer than 3000/);
    expect(contracts.checkMessageBlocks([{ type: 'sektion' }], 'm').join()).toMatch(/schema/);
    const overflow = { type: 'actions', elements: [{ type: 'overflow', action_id: 'o', options: Array.from({ length: 6 }, (_, i) => ({ text: { type: 'plain_text', text: `o${i}` }, value: `${i}` })) }] };
    expect(contracts.checkMessageBlocks([overflow], 'm').join()).toMatch(/overflow has 6 options/);
    const many = Array.from({ length: 51 }, () => ({ type: 'divider' }));
    expect(contracts.checkMessageBlocks(many, 'm').join()).toMatch(/max 50/);
    const modal = { type: 'modal', title: { type: 'plain_text', text: 'A title that is far too long' }, blocks: [] };
    expect(contracts.checkView(modal, 'views.open').join()).toMatch(/title longer than 24/);
    expect(contracts.checkView({ type: 'modal', title: { type: 'plain_text', text: 'ok' }, blocks: [{ type: 'divider' }] }, 'v')).toEqual([]);
  });
});
