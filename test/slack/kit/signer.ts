import { createHmac, randomUUID } from 'node:crypto';

/** Slack's v0 request signature: v0= + hex(HMAC-SHA256(secret, "v0:{ts}:{raw body}")). */
export function slackSignature(secret: string, timestamp: string | number, rawBody: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}

export interface SignedResponse { status: number; body: string; ms: number }

/**
 * Posts signed requests into the running app's /slack/events, the way Slack does: slash commands
 * and interactions as form posts, Events API callbacks as JSON (with retries if asked).
 */
export class SlackSigner {
  /** Hands out a response_url per command (the harness points it at the Web API stand-in). */
  responseUrlFor: (() => string) | null = null;

  constructor(
    readonly appUrl: string,
    readonly secret: string,
    readonly teamId = 'T0001',
    readonly path = '/slack/events',
  ) {}

  async post(rawBody: string, contentType: string, opts: { timestamp?: number; signature?: string; headers?: Record<string, string> } = {}): Promise<SignedResponse> {
    const ts = opts.timestamp ?? Math.floor(Date.now() / 1000);
    const started = Date.now();
    const res = await fetch(`${this.appUrl}${this.path}`, {
      method: 'POST',
      headers: {
        'content-type': contentType,
        'x-slack-request-timestamp': String(ts),
        'x-slack-signature': opts.signature ?? slackSignature(this.secret, ts, rawBody),
        ...opts.headers,
      },
      body: rawBody,
    });
    return { status: res.status, body: await res.text(), ms: Date.now() - started };
  }

  /**
   * A slash command, field for field as Slack's published sample (java-slack-sdk
   * app-backend_slash-commands_SlashCommandPayload.json: token, api_app_id, team_id, team_domain,
   * enterprise_id, enterprise_name, channel_id, channel_name, user_id, user_name, command, text,
   * response_url, trigger_id, is_enterprise_install).
   */
  command(command: string, text: string, user: { id: string; name?: string }, channel = 'C0TICKETS', opts: { responseUrl?: string; channelName?: string; enterpriseId?: string } = {}): Promise<SignedResponse> {
    const body = new URLSearchParams({
      token: 'legacy', api_app_id: 'A0001', team_id: this.teamId, team_domain: 'example',
      ...(opts.enterpriseId ? { enterprise_id: opts.enterpriseId, enterprise_name: 'Example Grid' } : {}),
      channel_id: channel, channel_name: opts.channelName ?? 'helpdesk',
      user_id: user.id, user_name: user.name ?? user.id, command, text,
      response_url: opts.responseUrl ?? this.responseUrlFor?.() ?? 'https://hooks.slack.invalid/commands/1', trigger_id: `trig.${randomUUID()}`,
      is_enterprise_install: 'false',
    }).toString();
    return this.post(body, 'application/x-www-form-urlencoded');
  }

  /** block_actions, view_submission, shortcut, message_action... (payload=<json>). */
  interaction(payload: Record<string, unknown>): Promise<SignedResponse> {
    const full = { team: { id: this.teamId, domain: 'example' }, api_app_id: 'A0001', token: 'legacy', trigger_id: `trig.${randomUUID()}`, ...payload };
    return this.post(new URLSearchParams({ payload: JSON.stringify(full) }).toString(), 'application/x-www-form-urlencoded');
  }

  blockAction(user: string, action: Record<string, unknown>, container: { channel?: string; ts?: string; viewId?: string } = {}): Promise<SignedResponse> {
    return this.interaction({
      type: 'block_actions',
      user: { id: user, username: user, team_id: this.teamId },
      actions: [{ block_id: 'b', action_ts: `${Date.now() / 1000}`, ...action }],
      ...(container.channel ? { channel: { id: container.channel, name: 'helpdesk' }, container: { type: 'message', channel_id: container.channel, message_ts: container.ts }, message: { ts: container.ts, type: 'message', text: '' } } : {}),
      ...(container.viewId ? { view: { id: container.viewId, type: 'modal', callback_id: 'x', private_metadata: '', state: { values: {} } }, container: { type: 'view', view_id: container.viewId } } : {}),
      response_url: this.responseUrlFor?.() ?? 'https://hooks.slack.invalid/actions/1',
    });
  }

  viewSubmission(user: string, callbackId: string, privateMetadata: string, values: Record<string, Record<string, unknown>>): Promise<SignedResponse> {
    return this.interaction({
      type: 'view_submission',
      user: { id: user, username: user, team_id: this.teamId },
      view: { id: 'VSUBMIT', type: 'modal', callback_id: callbackId, private_metadata: privateMetadata, state: { values }, hash: 'h' },
    });
  }

  /** An Events API callback; pass the same eventId and retryNum > 0 to imitate Slack's retries. */
  event(event: Record<string, unknown>, opts: { eventId?: string; retryNum?: number } = {}): Promise<SignedResponse> {
    const body = JSON.stringify({
      token: 'legacy', team_id: this.teamId, api_app_id: 'A0001', type: 'event_callback',
      event_id: opts.eventId ?? `Ev${randomUUID().replace(/-/g, '').slice(0, 10)}`, event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ team_id: this.teamId, user_id: 'UBOT', is_bot: true }],
      event,
    });
    const headers: Record<string, string> = opts.retryNum ? { 'x-slack-retry-num': String(opts.retryNum), 'x-slack-retry-reason': 'http_timeout' } : {};
    return this.post(body, 'application/json', { headers });
  }
}
