import { Agenda, type Job } from 'agenda';
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

  constructor(db: Db, private readonly logger: Logger, opts: { processEvery?: string | number; lockLifetimeMs?: number; name?: string } = {}) {
    this.agenda = new Agenda({
      backend: new MongoBackend({ mongo: db as never, collection: 'jobs' }),
      processEvery: opts.processEvery ?? '2 seconds',
      // A worker that dies mid-job holds its lock this long; then another run picks the job up.
      defaultLockLifetime: opts.lockLifetimeMs ?? 5 * 60_000,
    } as never);
    this.agenda.on('fail', (err: Error, job: Job) => this.logger.error({ err, job: job.attrs.name }, 'job failed'));
  }

  define(name: string, handler: JobHandler, opts: { concurrency?: number; lockLifetime?: number } = {}): void {
    this.agenda.define(name, async (job: Job) => handler((job.attrs.data ?? {}) as Record<string, unknown>, job), opts as never);
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
    await this.agenda.start();
    for (const r of this.recurring) await this.agenda.every(r.interval, r.name, r.data as never);
    this.started = true;
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.agenda.stop();
  }
}
