import type { DomainEvent } from '../tickets/types.js';
import type { WrittenView } from './written.js';

/** What the delivery worker knows of this run of a delivery. */
export interface DeliveryContext {
  /**
   * The ticket and entry as the event's write left them: given only to the first run of the
   * delivery ever (no earlier claim, here or on another instance), which therefore cannot find
   * a posting intent or a posted id of its own; a notifier may then skip reading them back.
   */
  written?: WrittenView;
}

/**
 * A notifier turns domain events into messages on one channel (email, slack, teams, mentions,
 * sentiment, automations...). Each channel gets its own delivery record per event, retried on its
 * own, so a failing channel never blocks another.
 */
export interface Notifier {
  /** Stable channel name; part of the delivery id, so keep it fixed once deployed. */
  readonly channel: string;
  /** Cheap, synchronous filter on the event; a delivery is recorded only when it returns true. */
  wants(event: DomainEvent): boolean;
  /** Must be safe to run twice for the same event (a crash can replay it). */
  deliver(event: DomainEvent, ctx?: DeliveryContext): Promise<void>;
  /**
   * True when delivering this event only brings the ticket's card up to date, which every later
   * delivery of the same ticket on this channel does too: the worker skips it when one is queued
   * behind it (a burst of changes costs one render, not one per change).
   */
  refreshOnly?(event: DomainEvent): boolean;
  /** Called once when the delivery is given up (permanent error or attempts exhausted). */
  onGiveUp?(event: DomainEvent, error: Error): Promise<void>;
}

/** Throw from deliver() when retrying cannot help (e.g. a 5xx SMTP answer, an invalid address). */
export class PermanentDeliveryError extends Error {
  readonly permanent = true;
}

/** Throw from deliver() to retry after a given delay (e.g. a 429's Retry-After). */
export class RetryLaterError extends Error {
  constructor(message: string, readonly retryAfterMs: number) {
    super(message);
  }
}

/**
 * Another attempt (another instance, or this one) holds the claim to post this message: waiting for
 * it is not a failed attempt. The claim is a lease, so the wait is bounded; counting these as
 * attempts gave deliveries up while a killed instance's claim ran out.
 */
export class WaitingForClaimError extends RetryLaterError {
  readonly notAnAttempt = true;
}

export class NotifierRegistry {
  private readonly byChannel = new Map<string, Notifier>();

  register(notifier: Notifier): void {
    if (this.byChannel.has(notifier.channel)) throw new Error(`notifier ${notifier.channel} registered twice`);
    this.byChannel.set(notifier.channel, notifier);
  }

  get(channel: string): Notifier | undefined {
    return this.byChannel.get(channel);
  }

  all(): Notifier[] {
    return [...this.byChannel.values()];
  }

  channelsFor(event: DomainEvent): string[] {
    return this.all()
      .filter((n) => {
        try {
          return n.wants(event);
        } catch {
          return false;
        }
      })
      .map((n) => n.channel);
  }
}
