import type { ErrorRequestHandler } from 'express';
import { ZodError } from 'zod';
import { DeskbridgeError, httpStatusFor } from '../domain/errors.js';
import type { Logger } from '../logger.js';

/** Turns a ZodError into the same field problems the service reports. */
export function fromZod(err: ZodError): DeskbridgeError {
  const problems = err.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
  const first = problems[0]!;
  return new DeskbridgeError('VALIDATION_FAILED', `${first.field}: ${first.message}`, problems);
}

/** One JSON error shape for the whole HTTP surface: {error: {code, message, fields}}. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    let e: DeskbridgeError;
    if (err instanceof DeskbridgeError) e = err;
    else if (err instanceof ZodError) e = fromZod(err);
    else if (err?.type === 'entity.too.large') e = new DeskbridgeError('PAYLOAD_TOO_LARGE', 'request body too large');
    else if (err?.type === 'entity.parse.failed') e = new DeskbridgeError('VALIDATION_FAILED', 'body: not valid JSON', [{ field: '(body)', message: 'not valid JSON' }]);
    else if (err?.name === 'MongoServerSelectionError' || err?.name === 'MongoNetworkError' || err?.name === 'MongoNotConnectedError') {
      e = new DeskbridgeError('UNAVAILABLE', 'the database is unavailable; try again shortly');
    } else if (err?.name === 'CastError' || err?.name === 'ValidationError') {
      e = new DeskbridgeError('VALIDATION_FAILED', String(err.message));
    } else {
      logger.error({ err, path: req.path }, 'unhandled error');
      e = new DeskbridgeError('INTERNAL', 'internal error');
    }
    const status = httpStatusFor[e.code];
    if (status === 503) res.setHeader('Retry-After', '5');
    res.status(status).json({ error: { code: e.code, message: e.message, fields: e.problems } });
  };
}
