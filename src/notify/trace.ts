/**
 * Where a delivery's time goes, for measuring: with DESKBRIDGE_TRACE_DELIVERIES=FILE each step of
 * an event's delivery on one channel is stamped, from the event being stored to the platform call,
 * and one line per delivery (milliseconds since the event was stored, per step) is appended to
 * FILE. Off by default: then every call here returns at once.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { appendFileSync } from 'node:fs';

const file = process.env.DESKBRIDGE_TRACE_DELIVERIES || '';
const enabled = file !== '';
const current = new AsyncLocalStorage<{ eventId: string; channel: string }>();
const traces = new Map<string, { t0: number; steps: [string, number][] }>();

export const tracing = (): boolean => enabled;

/** Stamps `step` of event `eventId` on `channel` (the first stamp of an event starts its clock). */
export function mark(eventId: string, channel: string, step: string): void {
  if (!enabled) return;
  const key = `${eventId}:${channel}`;
  let t = traces.get(key);
  if (!t) {
    t = { t0: performance.now(), steps: [] };
    traces.set(key, t);
    if (traces.size > 2_000) traces.delete(traces.keys().next().value!);
  }
  t.steps.push([step, performance.now()]);
}

/** Starts the clock of every channel's trace of an event at once (the event was just stored). */
export function markStored(eventId: string, channels: string[]): void {
  if (!enabled) return;
  for (const c of channels) mark(eventId, c, 'stored');
}

/** Ends a delivery's trace and writes it as "step+ms" pairs. */
export function finish(eventId: string, channel: string, type: string): void {
  if (!enabled) return;
  const key = `${eventId}:${channel}`;
  const t = traces.get(key);
  traces.delete(key);
  if (!t) return;
  appendFileSync(file, `${new Date().toISOString()} ${channel} ${type} ${t.steps.map(([s, at]) => `${s}+${(at - t.t0).toFixed(1)}`).join(' ')}\n`);
}

/** Runs a delivery with its trace as the current one, so step() inside the notifier finds it. */
export function within<T>(eventId: string, channel: string, fn: () => Promise<T>): Promise<T> {
  return enabled ? current.run({ eventId, channel }, fn) : fn();
}

/** Stamps `name` on the current delivery's trace (inside within()). */
export function step(name: string): void {
  if (!enabled) return;
  const c = current.getStore();
  if (c) mark(c.eventId, c.channel, name);
}
