import type { Scenario } from '../lib/scenario.js';
import { ticketListScenario } from './ticket-list.js';
import { standInPacingScenario } from './standin-pacing.js';
import { emailIngestScenario } from './email-ingest.js';
import { slackAckScenario } from './slack-ack.js';
import { outboundPacingScenario } from './outbound-pacing.js';
import { fanOutScenario } from './fan-out.js';
import { consoleScenario } from './console.js';
import { retentionScenario } from './retention.js';
import { memorySoakScenario } from './memory-soak.js';

/**
 * The scenarios `npm run bench` runs, in order. One line per scenario so channel scenarios
 * (email ingestion, Slack acks, Teams/Slack pacing, fan-out) merge cleanly. Memory and event-loop
 * delay of the service are measured by the harness across all of them.
 */
export const scenarios: Scenario[] = [
  // Channel scenarios first: on FerretDB every ticket read scans the collection, so they must not
  // run on the ticket-list scenario's 100k+ generated entries.
  emailIngestScenario,
  slackAckScenario,
  outboundPacingScenario,
  fanOutScenario,
  retentionScenario,
  memorySoakScenario,
  ticketListScenario,
  standInPacingScenario,
  consoleScenario,
];
