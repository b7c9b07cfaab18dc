import type { DeskbridgeModule } from './app.js';
import { slackModule } from './slack/index.js';

/**
 * The parts of the app, each set up against the same AppContext. Add a module here; keep one
 * line per module so parallel work merges cleanly.
 */
export const modules: DeskbridgeModule[] = [
  slackModule,
];
