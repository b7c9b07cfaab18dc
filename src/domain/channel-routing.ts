/**
 * Where a ticket's card goes, for Slack and Teams alike. Routing rules are read from settings
 * (`extra.slackChannelRoutes`, `extra.teamsChannelRoutes`, `extra.slackWorkspaces`); they arrive
 * as untyped JSON, so every shape is checked here and malformed rules are skipped.
 *
 * A rule names a customer and/or a ticket type and the channel for matching tickets; the first
 * matching rule wins. A rule with neither customer nor type matches nothing (a catch-all is the
 * platform's default channel).
 */
export interface RoutedTicket { customer: string | null; type: string }
export interface RouteRule { customer?: string; type?: string; channel?: string }

const matches = (t: RoutedTicket, r: RouteRule) =>
  Boolean(r.customer || r.type) && (!r.customer || r.customer === t.customer) && (!r.type || r.type === t.type);

/** The channel of the first rule matching the ticket, or null. */
export function routeChannel(t: RoutedTicket, rules: unknown): string | null {
  if (!Array.isArray(rules)) return null;
  for (const r of rules as RouteRule[]) {
    if (!r || typeof r !== 'object' || typeof r.channel !== 'string' || !r.channel) continue;
    if (matches(t, r)) return r.channel;
  }
  return null;
}

/** One Slack installation's own routing (settings.extra.slackWorkspaces[]). */
export interface WorkspaceRouting { team: string; channel?: string; routes?: RouteRule[] }

/**
 * Several Slack workspaces: each installation has its own tickets channel and rules. A ticket
 * goes to the first workspace one of whose rules matches it (a rule without `channel` means that
 * workspace's tickets channel); tickets no workspace takes follow the home rules and default
 * channel. Null: no channel is configured for the ticket (no card, and no delivery work).
 */
export function routeWorkspace(
  t: RoutedTicket,
  home: { channel: string | null | undefined; routes: unknown },
  workspaces: unknown,
): { team: string | null; channel: string } | null {
  if (Array.isArray(workspaces)) {
    for (const w of workspaces as WorkspaceRouting[]) {
      if (!w || typeof w.team !== 'string' || !Array.isArray(w.routes)) continue;
      for (const r of w.routes) {
        if (!r || typeof r !== 'object' || !matches(t, r)) continue;
        const channel = typeof r.channel === 'string' && r.channel ? r.channel : w.channel;
        if (channel) return { team: w.team, channel };
      }
    }
  }
  const channel = routeChannel(t, home.routes) ?? home.channel ?? null;
  return channel ? { team: null, channel } : null;
}
