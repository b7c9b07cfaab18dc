import type { DeskbridgeModule } from './app.js';
import { metricsModule } from './http/metrics.js';

/**
 * The parts of the app, each set up against the same AppContext. Add a module here; keep one
 * line per module so parallel work merges cleanly.
 */
export const modules: DeskbridgeModule[] = [
  metricsModule,
];
