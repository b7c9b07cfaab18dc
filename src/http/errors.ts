import type { ErrorRequestHandler } from 'express';
import { ZodError } from 'zod';
import { DeskbridgeError, httpStatusFor } from '../domain/errors.js';
import type { Logger } from '../logger.js';
import { embeddedDatabaseRecovering } from '../store/embedded.js';
import { isDuplicateKey } from '../store/models.js';

/** Turns a ZodError into the same field problems the service reports. */
export function fromZod(err: ZodError): DeskbridgeError {
  const problems = err.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
  const first = problems[0]!;
  return new DeskbridgeError('VALIDATION_FAILED', `${first.field}: ${first.message}`, problems);
}

/** Driver errors that mean "the database is down or unreachable right now" (retryable: 503). */
const UNAVAILABLE_ERRORS = new Set([
  'MongoServerSelectionError', 'MongoNetworkError', 'MongoNetworkTimeoutError', 'MongoNotConnectedError',
  'MongoPoolClearedError', 'MongoTopologyClosedError',
]);
/**
 * FerretDB 2 passes PostgreSQL's own connection failures on as InternalError (code 1) while the
 * embedded PostgreSQL restarts after a crash; they are as retryable as a network error.
 */
const POSTGRES_RESTARTING = /database system is (starting up|not yet accepting connections|shutting down|in recovery mode)|terminating connection|unexpected postmaster exit|server closed the connection unexpectedly|failed to connect to|unexpected EOF|\.s\.PGSQL\.\d+|SQLSTATE (57P0\d|08\d{3})|connection reset by peer|broken pipe|conn closed|closed pool|use of closed network connection/i;
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { name?: string; message?: string; code?: unknown } | null;
  if (!e) return false;
  if (UNAVAILABLE_ERRORS.has(e.name ?? '')) return true;
  // InternalError while our own supervisor restarts the embedded database: whatever its wording, retryable.
  if (e.name === 'MongoServerError' && e.code === 1 && (POSTGRES_RESTARTING.test(e.message ?? '') || embeddedDatabaseRecovering())) return true;
  // mongoose's own wording when a connection is not usable (buffering off or timed out)
  return e.name === 'MongooseError' && /buffering timed out|before initial connection|Connection was force closed|client was closed/i.test(e.message ?? '');
}

/** One JSON error shape for the whole HTTP surface: {error: {code, message, fields}}. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    let e: DeskbridgeError;
    if (err instanceof DeskbridgeError) e = err;
    else if (err instanceof ZodError) e = fromZod(err);
    else if (err?.type === 'entity.too.large') e = new DeskbridgeError('PAYLOAD_TOO_LARGE', 'request body too large');
    else if (err?.type === 'entity.parse.failed') e = new DeskbridgeError('VALIDATION_FAILED', 'body: not valid JSON', [{ field: '(body)', message: 'not valid JSON' }]);
    else if (isDatabaseUnavailable(err)) {
      e = new DeskbridgeError('UNAVAILABLE', 'the database is unavailable; try again shortly');
    } else if (isDuplicateKey(err)) {
      // A unique index the service did not expect to hit (it maps the ones it knows to CONFLICT itself).
      e = new DeskbridgeError('CONFLICT', 'this would duplicate an existing record');
    } else if (err?.name === 'BSONError') {
      e = new DeskbridgeError('VALIDATION_FAILED', 'input contains characters that cannot be stored (e.g. NUL in a key)');
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
