import express, { type RequestHandler } from 'express';
import { isValidSlackRequest } from '@slack/bolt';
import type { SlackEventLog } from './event-log.js';

/** Bolt's own limit for request bodies (HTTPModuleFunctions.defaultBodyLimit). */
const BODY_LIMIT = '10mb';

/**
 * The ack path of Events API deliveries and block_actions over HTTP: read the body, verify Slack's
 * signature, hand the event (or the action) over and answer 200 — nothing else. Bolt's own pipeline would first authorize
 * the request (auth.test on the first request after a start, an installation lookup per request
 * with OAuth) and run its global middleware before acknowledging; all of that now runs after the
 * 200, from the recorded event. Other interactions, commands, options, url_verification and anything
 * that fails verification go on to Bolt's receiver unchanged (it answers those, 401 included).
 */
export function slackEventsAck(signingSecret: string, log: SlackEventLog): RequestHandler[] {
  return [
    express.raw({ type: () => true, limit: BODY_LIMIT }),
    (req, res, next) => {
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      // Bolt's receiver reads a body already taken from the stream from req.rawBody.
      (req as { rawBody?: Buffer }).rawBody = raw;
      const type = String(req.headers['content-type'] ?? '');
      const json = type.startsWith('application/json');
      if (!json && !type.startsWith('application/x-www-form-urlencoded')) return next();
      const text = raw.toString('utf8');
      const valid = isValidSlackRequest({
        signingSecret, body: text,
        headers: { 'x-slack-signature': String(req.headers['x-slack-signature'] ?? ''), 'x-slack-request-timestamp': Number(req.headers['x-slack-request-timestamp']) },
      });
      if (!valid) return next();
      if (!json) {
        // A button or menu on a message or view (block_actions): Slack wants only the 200, whose
        // body it ignores, so it does not wait for Bolt's authorization and middleware either; the
        // listener runs after it (its own ack() is then a no-op). Other interactions (view
        // submissions, shortcuts, options) and slash commands may answer in the ack: Bolt's.
        let payload: { type?: string } | null = null;
        try {
          payload = JSON.parse(new URLSearchParams(text).get('payload') ?? 'null');
        } catch {
          return next();
        }
        if (payload?.type !== 'block_actions') return next();
        log.acceptAction(payload);
        res.status(200).end();
        return;
      }
      let body: { type?: string; event_id?: string; event?: { type?: string } };
      try {
        body = JSON.parse(text);
      } catch {
        return next();
      }
      // function_executed events are acknowledged by their handler (Bolt's rule): leave them to Bolt.
      if (body?.type !== 'event_callback' || !body.event_id || body.event?.type === 'function_executed') return next();
      log.accept(body, {
        retryNum: req.headers['x-slack-retry-num'] ? Number(req.headers['x-slack-retry-num']) : undefined,
        retryReason: req.headers['x-slack-retry-reason'] ? String(req.headers['x-slack-retry-reason']) : undefined,
      });
      res.status(200).end();
    },
  ];
}
