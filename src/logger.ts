import pino, { type Logger } from 'pino';

export function createLogger(level: string = 'info'): Logger {
  return pino({ level, base: { app: 'deskbridge' }, redact: ['req.headers.authorization', '*.password', '*.token'] });
}
export type { Logger };
