import { Agenda, exponential, type BackoffStrategy, type Job } from 'agenda';
import { MongoBackend } from '@agendajs/mongo-backend';
import type { Db } from 'mongodb';
import type { Logger } from '../logger.js';

export type JobHandler = (data: Record<string, unknown>, job: Job) => Promise<void>;

/**
 * agenda on the app's own database. Jobs survive restarts and run once across instances
 * (agenda's locks). A failing job is logged and retried by its own schedule or by backoff.
 */
export class Scheduler {
  readonly agenda: Agenda;
  private readonly recurring: { interval: string; name: string; data?: Record<string, unknown> }[] = [];
  private started = false;
  private stopRequested = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(db: Db, private readonly logger: Logger, opts: { processEvery?: string | number; lockLifetimeMs?: number; name?: string } = {}) {
    this.agenda = new Agenda({
      backend: new MongoBackend({ mongo: db as never, collection: 'jobs' }),
      processEvery: opts.processEvery ?? '2 seconds',
      // A worker that dies mid-job holds its lock this long; then another run picks the job up.
      defaultLockLifetime: opts.lockLifetimeMs ?? 5 * 60_000,
    } as never);
    this.agenda.on('fail', (err: Error, job: Job) => this.logger.error({ err, job: job.attrs.name }, 'job failed'));
    // agenda emits 'error' when it cannot store a job's state; unheard, an EventEmitter throws it.
    this.agenda.on('error', (err: Error) => this.logger.error({ err }, 'scheduler error'));
  }

  /**
   * Defines a job. A failing run is logged ('job failed') and retried with exponential backoff
   * (1 s doubling, at most 5 retries) unless `backoff` says otherwise; recurring jobs also run again
   * at their next interval. Handlers still running when the app stops are awaited (see stop()).
   */
  define(name: string, handler: JobHandler, opts: { concurrency?: number; lockLifetime?: number; backoff?: BackoffStrategy } = {}): void {
    const backoff = opts.backoff ?? exponential({ delay: 1000, maxDelay: 5 * 60_000, maxRetries: 5 });
    this.agenda.define(name, async (job: Job) => {
      const run = handler((job.attrs.data ?? {}) as Record<string, unknown>, job);
      this.inFlight.add(run);
      try {
        await run;
      } finally {
        this.inFlight.delete(run);
      }
    }, { ...opts, backoff } as never);
  }

  /** True once stop() was called: long handlers check it between units of work and return early. */
  get stopping(): boolean {
    return this.stopRequested;
  }

  /** Registers a recurring job; scheduled when the scheduler starts. */
  every(interval: string, name: string, data?: Record<string, unknown>): void {
    this.recurring.push({ interval, name, data });
    if (this.started) void this.agenda.every(interval, name, data as never);
  }

  async now(name: string, data: Record<string, unknown> = {}): Promise<void> {
    await this.agenda.now(name, data as never);
  }

  async schedule(when: Date | string, name: string, data: Record<string, unknown> = {}): Promise<void> {
    await this.agenda.schedule(when as never, name, data as never);
  }

  async start(): Promise<void> {
    this.stopRequested = false;
    await this.agenda.start();
    for (const r of this.recurring) await this.agenda.every(r.interval, r.name, r.data as never);
    this.started = true;
  }

  /**
   * Takes no new job (agenda.stop: jobs locked here but not started are unlocked for another
   * instance), asks running handlers to finish (they see `stopping`) and waits, up to `graceMs`,
   * until agenda has also stored their outcome — only then may the database close. A job still
   * running after that keeps its lock and is taken over when the lock expires.
   */
  async stop(graceMs = 10_000): Promise<{ stillRunning: number }> {
    if (!this.started) return { stillRunning: 0 };
    this.stopRequested = true;
    this.started = false;
    // agenda 6 keeps a job in runningJobs from its lock until its final state is saved; our
    // handler promises alone end before that save. (Not public API: read only, with a fallback.)
    const processor = (this.agenda as unknown as { jobProcessor?: { runningJobs?: unknown[] } }).jobProcessor;
    const running = () => Math.max(processor?.runningJobs?.length ?? 0, this.inFlight.size);
    await this.agenda.stop();
    const deadline = Date.now() + graceMs;
    while (running() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const stillRunning = running();
    if (stillRunning > 0) this.logger.warn({ stillRunning, graceMs }, 'scheduler stopped with jobs still running; their locks expire and another run takes them over');
    return { stillRunning };
  }
}
