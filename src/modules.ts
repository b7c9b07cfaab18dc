import type { DeskbridgeModule } from './app.js';
import { portalModule } from './portal/module.js';
import { teamsModule } from './teams/index.js';
import { emailModule } from './email/module.js';
import { aiModule } from './ai/module.js';
import { automationsModule } from './automations/module.js';
import { slackModule } from './slack/index.js';
import { metricsModule } from './http/metrics.js';
import { consoleModule } from './console/module.js';
import { retentionModule } from './jobs/retention.js';

/**
 * The parts of the app, each set up against the same AppContext. Add a module here; keep one
 * line per module so parallel work merges cleanly.
 */
export const modules: DeskbridgeModule[] = [
  portalModule,
  teamsModule,
  emailModule,
  aiModule,
  automationsModule,
  slackModule,
  metricsModule,
  consoleModule,
  retentionModule,
];
