import type { Types } from 'mongoose';

/**
 * Ticket number → document _id, kept in process. The mapping never changes once a ticket exists,
 * and on FerretDB a filter on `_id` alone is pushed down into SQL (~20× cheaper than a filter on
 * `number`, which decodes every ticket). Bounded: least recently used numbers are dropped first.
 * Readers still check the fetched document's number, so a stale entry only costs a fallback query.
 */
export class TicketIdCache {
  private readonly ids = new Map<number, Types.ObjectId>();

  constructor(private readonly capacity = 5000) {}

  get(number: number): Types.ObjectId | undefined {
    const id = this.ids.get(number);
    if (id !== undefined) {
      // Re-insert: a Map iterates in insertion order, so the first key is the least recently used.
      this.ids.delete(number);
      this.ids.set(number, id);
    }
    return id;
  }

  set(number: number, id: Types.ObjectId): void {
    this.ids.delete(number);
    this.ids.set(number, id);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.keys().next().value!);
  }

  delete(number: number): void {
    this.ids.delete(number);
  }

  get size(): number {
    return this.ids.size;
  }
}
