import type { Db } from 'mongodb';
import type { ServiceProcess } from './service-process.js';

/*
 * The plug-in shape of a benchmark scenario. A scenario drives the running service (a separate
 * process) over loopback and returns figures; the harness prints them, checks targets and writes
 * the JSON report. Add a scenario by writing bench/scenarios/<name>.ts and adding one line to
 * bench/scenarios/index.ts. See docs/benchmarks.md.
 */

export interface Target {
  /** `<=`: the figure must be at most `value`; `>=`: at least. */
  op: '<=' | '>=';
  value: number;
  /** What the target is, in words (shown in the table). */
  label?: string;
}

export interface Figure {
  scenario: string;
  name: string;
  value: number;
  unit: string;
  target?: Target;
  /** Filled by the harness from `target`. */
  met?: boolean;
  note?: string;
}

export interface BenchContext {
  /** The service under test (restartable: scenarios may replace it through `restartService`). */
  service: ServiceProcess;
  /** Starts the service again with extra environment (e.g. a scenario's stand-in URLs). */
  restartService(extraEnv?: Record<string, string>): Promise<ServiceProcess>;
  /** The same database the service uses, for bulk seeding and checks (never to fake results). */
  db: Db;
  mongoUri: string;
  /** A temporary folder for this run (DATA_DIR of the service lives inside). */
  tmpDir: string;
  /** Progress line on stderr. */
  log(message: string): void;
  /** Harness options from the environment (BENCH_*). */
  options: BenchOptions;
}

export interface BenchOptions {
  /** Ticket counts for the list/view scenario, ascending (BENCH_TICKETS, default 10000,100000). */
  ticketSizes: number[];
  entriesPerTicket: number;
  /** Requests per measured series (BENCH_REQUESTS). */
  requests: number;
  /** Time budget per measured series in ms (BENCH_SERIES_SECONDS); a series stops early after it. */
  seriesBudgetMs: number;
  /** Only run scenarios whose name is listed (BENCH_SCENARIOS, comma separated). */
  only: string[] | null;
}

export interface Scenario {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<Figure[]>;
}

export const figure = (scenario: string, name: string, value: number, unit: string, target?: Target, note?: string): Figure =>
  ({ scenario, name, value, unit, ...(target ? { target } : {}), ...(note ? { note } : {}) });
