import type { Types } from 'mongoose';

/** A bounded map: least recently used keys are dropped first. */
export class LruCache<K, V> {
  private readonly map = new Map<K, V>();

  constructor(private readonly capacity: number) {}

  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      // Re-insert: a Map iterates in insertion order, so the first key is the least recently used.
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
  }

  delete(key: K): void {
    this.map.delete(key);
  }

  get size(): number {
    return this.map.size;
  }
}

/**
 * Ticket number → document _id, kept in process. The mapping never changes once a ticket exists,
 * and on FerretDB a filter on `_id` alone is pushed down into SQL (~20× cheaper than a filter on
 * `number`, which decodes every ticket). Bounded: least recently used numbers are dropped first.
 * Readers still check the fetched document's number, so a stale entry only costs a fallback query.
 */
export class TicketIdCache extends LruCache<number, Types.ObjectId> {
  constructor(capacity = 5000) {
    super(capacity);
  }
}
