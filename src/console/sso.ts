import * as oidc from 'openid-client';
import type { Logger } from '../logger.js';

/**
 * Single sign-on with any OpenID Connect provider (Sign in with Slack and Microsoft Entra ID are
 * both OIDC) through openid-client, a certified relying party: authorization code flow with PKCE,
 * state and nonce. The person is matched by a verified email address, nothing else.
 */
export interface Sso {
  /** Where to send the browser, and the value to keep in a short-lived HttpOnly cookie. */
  start(): Promise<{ url: string; state: string }>;
  /** Checks the provider's answer against the cookie; the verified email, or an error. */
  finish(currentUrl: URL, cookieValue: string): Promise<string>;
}

interface Pending { v: string; s: string; n: string }

export function createSso(opts: { issuer: string; clientId: string; clientSecret: string; redirectUri: string; logger: Logger }): Sso {
  let discovered: Promise<oidc.Configuration> | null = null;
  const configuration = () => {
    // Plain http only for a provider on this machine (development, tests); anything else must be https.
    const loopback = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/.test(opts.issuer);
    discovered ??= oidc.discovery(new URL(opts.issuer), opts.clientId, opts.clientSecret, undefined, loopback ? { execute: [oidc.allowInsecureRequests] } : undefined)
      .catch((err) => {
        discovered = null;
        throw err;
      });
    return discovered;
  };

  return {
    async start() {
      const config = await configuration();
      const pending: Pending = { v: oidc.randomPKCECodeVerifier(), s: oidc.randomState(), n: oidc.randomNonce() };
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: opts.redirectUri, scope: 'openid email profile',
        code_challenge: await oidc.calculatePKCECodeChallenge(pending.v), code_challenge_method: 'S256',
        state: pending.s, nonce: pending.n,
      });
      return { url: url.href, state: Buffer.from(JSON.stringify(pending)).toString('base64url') };
    },
    async finish(currentUrl, cookieValue) {
      const config = await configuration();
      const pending = JSON.parse(Buffer.from(cookieValue, 'base64url').toString()) as Pending;
      const tokens = await oidc.authorizationCodeGrant(config, currentUrl, { pkceCodeVerifier: pending.v, expectedState: pending.s, expectedNonce: pending.n });
      const claims = tokens.claims();
      if (!claims) throw new Error('no ID token');
      let email = claims.email;
      let verified = claims.email_verified;
      if (typeof email !== 'string') {
        const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
        email = info.email;
        verified = info.email_verified;
      }
      if (typeof email !== 'string' || verified !== true) throw new Error('the provider did not give a verified email address');
      opts.logger.info({ sub: claims.sub }, 'console single sign-on');
      return email;
    },
  };
}
