/**
 * @mentions in note text. Three written forms reach us:
 *  - `@jane@example.com` (API, CLI, email)
 *  - `<@U0123ABC>` (Slack user mention)
 *  - `<at>Jane Doe</at>` (Teams; resolved against the activity's mention entities by the adapter)
 * Adapters may also pass explicit mentions. This returns the raw tokens; the service resolves them
 * to technicians and ignores anything that is not one.
 */
export interface MentionTokens {
  emails: string[];
  slackUserIds: string[];
  teamsNames: string[];
}

export function parseMentions(text: string): MentionTokens {
  const emails = new Set<string>();
  const slack = new Set<string>();
  const teams = new Set<string>();
  for (const m of text.matchAll(/(?:^|[\s(,;])@([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})/g)) {
    emails.add(m[1]!.toLowerCase().replace(/\.$/, ''));
  }
  for (const m of text.matchAll(/<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>/g)) slack.add(m[1]!);
  for (const m of text.matchAll(/<at>([^<]{1,200})<\/at>/g)) teams.add(m[1]!.trim());
  return { emails: [...emails], slackUserIds: [...slack], teamsNames: [...teams] };
}
