import pino, { type Logger } from 'pino';

/**
 * JSON logs. Commands whose stdout is their result (`mail ingest` prints one JSON line per message)
 * log to stderr (`toStderr`), so a log line can never be mistaken for a result.
 */
export function createLogger(level: string = 'info', opts: { toStderr?: boolean } = {}): Logger {
  const options = { level, base: { app: 'deskbridge' }, redact: ['req.headers.authorization', '*.password', '*.token'] };
  return opts.toStderr ? pino(options, pino.destination(2)) : pino(options);
}
export type { Logger };
