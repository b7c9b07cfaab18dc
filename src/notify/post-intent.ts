/**
 * How long a card's posting intent (stored on the ticket before the platform call, see the Slack
 * and Teams notifiers) belongs to the attempt that made it. Posting takes a second or two; an
 * intent older than this was left by an attempt that died, and whoever comes next takes it over.
 * Until then other instances' deliveries for the ticket retry later instead of posting a second card.
 */
export const POST_LEASE_MS = 30_000;
