import type { DeskbridgeModule } from '../../src/app.js';
import { startTestApp, type TestApp } from '../support/db.js';
import { slackModule } from '../../src/slack/index.js';
import { SlackSigner, SlackWebApiStub, contractsAvailable } from './kit/index.js';

export const SECRET = 'test-signing-secret-0123456789';
export const CHANNEL = 'C0TICKETS';
export const TOM = { id: 'U0TOM', email: 'tom@it.example', name: 'Tom Tech' };
export const ANN = { id: 'U0ANN', email: 'ann@it.example', name: 'Ann Admin' };
export const JANE = { id: 'U0JANE', email: 'jane@corp.example', name: 'Jane Doe' };

/** Skips a whole file, visibly, when the shared contracts are not on this machine. */
export const describeWithContracts: jest.Describe = contractsAvailable()
  ? describe
  : (((name: string, fn: () => void) => {
      console.warn(`SKIPPED ${name}: ../shared/contracts not found (set DESKBRIDGE_SHARED_DIR)`);
      describe.skip(`${name} [skipped: shared contracts missing]`, fn);
    }) as unknown as jest.Describe);

export interface SlackHarness {
  t: TestApp;
  stub: SlackWebApiStub;
  slack: SlackSigner;
  drain(): Promise<void>;
  ticket(n: number): Promise<any>;
  close(): Promise<void>;
}

/** The real app with the Slack module, a Web API stand-in, two technicians and an end user. */
export async function startSlack(env: Record<string, string> = {}, extraModules: DeskbridgeModule[] = []): Promise<SlackHarness> {
  const stub = new SlackWebApiStub();
  await stub.start();
  for (const u of [TOM, ANN, JANE]) stub.addUser(u);
  const t = await startTestApp({
    modules: [slackModule, ...extraModules],
    env: {
      SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: SECRET, SLACK_TICKETS_CHANNEL: CHANNEL,
      SLACK_API_URL: stub.url, SLACK_UNDO_SECONDS: '1', SLACK_CARD_COALESCE_MS: '100', ...env,
    },
  });
  await t.api('POST', '/people', { email: TOM.email, name: TOM.name, roles: ['technician'] });
  await t.api('POST', '/people', { email: ANN.email, name: ANN.name, roles: ['technician'] });
  await t.api('POST', '/people', { email: JANE.email, name: JANE.name, roles: ['contact'] });
  const slack = new SlackSigner(t.url, SECRET);
  slack.responseUrlFor = () => stub.responseUrl();
  return {
    t, stub, slack,
    drain: () => t.app.ctx.deliveries.drain(),
    ticket: async (n) => (await t.api('GET', `/tickets/${n}`)).body,
    async close() {
      await t.close();
      await stub.stop();
    },
  };
}

/** Polls until fn returns a truthy value (short interval). */
export async function eventually<T>(fn: () => Promise<T> | T, what: string, timeoutMs = 8000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every text the blocks of a call show, flattened (for assertions on what people see). */
export const shown = (x: unknown): string => JSON.stringify(x ?? '');
