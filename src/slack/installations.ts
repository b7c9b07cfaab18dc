import type { Installation, InstallationQuery, InstallationStore } from '@slack/oauth';
import type { WebClient, WebClientOptions } from '@slack/web-api';
import { RateLimiter } from '../notify/rate-limit.js';
import { PacedWebClient } from './pacing.js';
import type { SlackModels } from './store.js';

const keyOf = (isEnterprise: boolean | undefined, enterpriseId: string | undefined, teamId: string | undefined) =>
  isEnterprise && enterpriseId ? `E:${enterpriseId}` : `T:${teamId ?? ''}`;

/** Installations from the OAuth flow, one document per workspace (or org-wide install). */
export class MongoInstallationStore implements InstallationStore {
  constructor(private readonly models: SlackModels) {}

  async storeInstallation(i: Installation): Promise<void> {
    const id = keyOf(i.isEnterpriseInstall, i.enterprise?.id, i.team?.id);
    // Stored as JSON so no key of Slack's payload trips the database's field-name rules.
    await this.models.Installation.updateOne({ _id: id }, { $set: { installation: JSON.parse(JSON.stringify(i)), at: new Date() } }, { upsert: true });
  }

  async fetchInstallation(q: InstallationQuery<boolean>): Promise<Installation> {
    const doc = await this.models.Installation.findById(keyOf(q.isEnterpriseInstall, q.enterpriseId, q.teamId)).lean();
    if (!doc) throw new Error(`no Slack installation for ${q.enterpriseId ?? q.teamId}`);
    return doc.installation as unknown as Installation;
  }

  async deleteInstallation(q: InstallationQuery<boolean>): Promise<void> {
    await this.models.Installation.deleteOne({ _id: keyOf(q.isEnterpriseInstall, q.enterpriseId, q.teamId) });
  }
}

/**
 * Web API clients by workspace. The home workspace (SLACK_BOT_TOKEN, or the installation of
 * SLACK_TEAM_ID) holds the tickets channel; DMs to people in other workspaces use theirs.
 * Every client paces its calls in one limiter shared by all deliveries of the process.
 */
export class SlackClients {
  private readonly byToken = new Map<string, WebClient>();

  constructor(
    private readonly options: WebClientOptions,
    private readonly homeToken: string | undefined,
    private readonly homeTeamId: string | undefined,
    private readonly store: MongoInstallationStore | null,
    readonly limiter = new RateLimiter(),
  ) {}

  private client(token: string): WebClient {
    let c = this.byToken.get(token);
    if (!c) this.byToken.set(token, (c = new PacedWebClient(token, this.options, this.limiter)));
    return c;
  }

  async home(): Promise<WebClient> {
    if (this.homeToken) return this.client(this.homeToken);
    return this.forTeam(this.homeTeamId);
  }

  /** A workspace's client (T…), or an Enterprise Grid org-wide installation's (E…). */
  async forTeam(teamId: string | null | undefined): Promise<WebClient> {
    if (teamId && this.store) {
      const orgWide = teamId.startsWith('E');
      const inst = await this.store.fetchInstallation(orgWide
        ? { teamId: undefined, enterpriseId: teamId, isEnterpriseInstall: true }
        : { teamId, enterpriseId: undefined, isEnterpriseInstall: false }).catch(() => null);
      const token = inst?.bot?.token;
      if (token) return this.client(token);
    }
    if (this.homeToken) return this.client(this.homeToken);
    if (this.homeTeamId && this.store && teamId !== this.homeTeamId) return this.forTeam(this.homeTeamId);
    throw new Error(`no Slack token for workspace ${teamId ?? '(home)'}: set SLACK_BOT_TOKEN or SLACK_TEAM_ID`);
  }
}
