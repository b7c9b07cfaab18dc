import type { Logger } from 'pino';
import type { TicketService } from '../tickets/service.js';
import type { HeldMessageDoc, SlackModels } from './store.js';

/**
 * Public thread replies held for the undo window. The record is the source of truth: each state
 * change is one conditional update (held → sending → sent, or held → undone / noted), so a timer, the
 * recovery sweep and a button press can race without sending twice; after a restart the sweep
 * sends what is due. The entry carries messageId slack:<channel>:<ts> so a crash between adding
 * the entry and marking it sent is recognised, not re-sent.
 */
export class HeldReplies {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly models: SlackModels,
    private readonly service: TicketService,
    private readonly logger: Logger,
    private readonly afterSend: (n: number) => Promise<void>,
  ) {}

  async hold(input: Omit<HeldMessageDoc, 'state' | 'entryId' | 'createdAt' | 'sendAt'>, delayMs: number): Promise<HeldMessageDoc> {
    const doc = await this.models.HeldMessage.findOneAndUpdate(
      { _id: input._id },
      { $setOnInsert: { ...input, sendAt: new Date(Date.now() + delayMs), state: 'held', entryId: null, createdAt: new Date() } },
      { upsert: true, new: true },
    ).lean<HeldMessageDoc>();
    this.schedule(doc!._id, delayMs);
    return doc!;
  }

  schedule(id: string, delayMs: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.release(id).catch((err) => this.logger.error({ err, id }, 'held reply release failed'));
    }, Math.max(0, delayMs));
    timer.unref?.();
    this.timers.add(timer);
  }

  /**
   * One held message's state changes run one at a time in this process: FerretDB does not apply a
   * conditional update atomically, so a timer, the sweep and an Undo press must not race.
   */
  private serial<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(fn);
    this.locks.set(id, run);
    void run.finally(() => { if (this.locks.get(id) === run) this.locks.delete(id); }).catch(() => undefined);
    return run;
  }

  /** Sends a held reply once its time has come (no-op if undone, noted or already sent). */
  release(id: string): Promise<boolean> {
    return this.serial(id, async () => {
      const doc = await this.models.HeldMessage.findOneAndUpdate(
        { _id: id, state: 'held', sendAt: { $lte: new Date() } }, { $set: { state: 'sending', sendingSince: new Date() } }, { new: true },
      ).lean<HeldMessageDoc>();
      if (!doc) return false;
      await this.send(doc, 'reply');
      return true;
    });
  }

  /** Undo: the reply is never sent. Returns null when it already went out. */
  undo(id: string): Promise<HeldMessageDoc | null> {
    return this.serial(id, () => this.models.HeldMessage.findOneAndUpdate({ _id: id, state: 'held' }, { $set: { state: 'undone' } }, { new: true }).lean<HeldMessageDoc>());
  }

  /** The author edited the message inside the undo window: the new text is what will be sent. */
  change(id: string, text: string): Promise<boolean> {
    return this.serial(id, async () => Boolean(await this.models.HeldMessage.findOneAndUpdate({ _id: id, state: 'held' }, { $set: { text } }, { new: true }).lean()));
  }

  /** Make it a note: recorded as an internal note instead of being sent. */
  makeNote(id: string): Promise<HeldMessageDoc | null> {
    return this.serial(id, async () => {
      const doc = await this.models.HeldMessage.findOneAndUpdate({ _id: id, state: 'held' }, { $set: { state: 'noted' } }, { new: true }).lean<HeldMessageDoc>();
      if (doc) await this.send(doc, 'note');
      return doc;
    });
  }

  /**
   * Recovery after a restart: finish sends interrupted more than a minute ago (a live send is not
   * touched), release what is due, re-arm the rest.
   */
  async sweep(): Promise<void> {
    const stale = new Date(Date.now() - 60_000);
    for (const d of await this.models.HeldMessage.find({ state: 'sending', sendingSince: { $lt: stale } }).lean<HeldMessageDoc[]>()) {
      await this.serial(d._id, async () => {
        const fresh = await this.models.HeldMessage.findById(d._id).lean<HeldMessageDoc>();
        if (fresh?.state === 'sending') await this.send(fresh, 'reply');
      });
    }
    for (const d of await this.models.HeldMessage.find({ state: 'held' }).lean<HeldMessageDoc[]>()) {
      this.schedule(d._id, new Date(d.sendAt).getTime() - Date.now());
    }
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private async send(doc: HeldMessageDoc, kind: 'reply' | 'note'): Promise<void> {
    const messageId = `slack:${doc._id}`;
    let entry = await this.service.findEntryByMessageId(messageId);
    if (!entry) {
      const res = await this.service.addEntry(doc.ticketNumber, {
        kind, text: doc.text, author: { personId: doc.personId }, source: 'slack', messageId,
        external: { slackTs: doc._id.split(':')[1] },
      });
      entry = res.entry;
    }
    await this.models.HeldMessage.updateOne({ _id: doc._id }, { $set: { state: kind === 'note' ? 'noted' : 'sent', entryId: entry.id } });
    await this.afterSend(doc.ticketNumber);
  }
}
