/**
 * Runs async work one at a time per key, in this process.
 *
 * Not a lock: correctness across processes comes from the database (every ticket change is one
 * atomic update guarded by the ticket's `version`, see core.ts). The queue only keeps this
 * process's own writers of one ticket from racing each other: a burst of replies to one ticket
 * (a mail thread, a Slack channel) would otherwise read the same version, all but one would lose
 * the guard, and each retry would re-read the ticket and re-plan — wasted round trips, and with
 * enough writers a CONFLICT after the retries run out. Queued, each write reads the version the
 * previous one left and succeeds first time.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const mine = prev.catch(() => undefined).then(fn);
    this.tails.set(key, mine);
    void mine.finally(() => { if (this.tails.get(key) === mine) this.tails.delete(key); }).catch(() => undefined);
    return mine;
  }
}
