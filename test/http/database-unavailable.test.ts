import { EventEmitter } from 'node:events';
import { isDatabaseUnavailable } from '../../src/http/errors.js';
import { reportEmbeddedEvents, type EmbeddedDatabase } from '../../src/store/embedded.js';

/** A driver error shaped like the ones FerretDB 2 sends (InternalError, code 1). */
function ferretInternalError(message: string): Error {
  return Object.assign(new Error(message), { name: 'MongoServerError', code: 1 });
}

test('PostgreSQL connection failures passed on by FerretDB are "unavailable" (503), other internal errors are not', () => {
  for (const wording of [
    'failed to connect to `user=postgres database=postgres`: dial error',
    'FATAL: the database system is in recovery mode (SQLSTATE 57P03)',
    'FATAL: terminating connection due to administrator command (SQLSTATE 57P01)',
    'write tcp 127.0.0.1:1->127.0.0.1:2: write: broken pipe',
    'read: connection reset by peer',
    'conn closed',
  ]) expect([wording, isDatabaseUnavailable(ferretInternalError(wording))]).toEqual([wording, true]);
  expect(isDatabaseUnavailable(ferretInternalError('cache lookup failed for type 12345'))).toBe(false);
  expect(isDatabaseUnavailable(Object.assign(new Error('E11000 duplicate key'), { name: 'MongoServerError', code: 11000 }))).toBe(false);
});

test('while the supervisor restarts the embedded database, any InternalError is "unavailable" whatever its wording', () => {
  const events = new EventEmitter();
  reportEmbeddedEvents({ events } as unknown as EmbeddedDatabase, () => {});
  const odd = ferretInternalError('cache lookup failed for type 12345');
  expect(isDatabaseUnavailable(odd)).toBe(false);
  events.emit('down', 'postgres', null, 'SIGKILL');
  expect(isDatabaseUnavailable(odd)).toBe(true);
  events.emit('restarted', 'postgres', 400);
  expect(isDatabaseUnavailable(odd)).toBe(true); // FerretDB's pool still reconnecting
  // A user error stays what it is, even then.
  expect(isDatabaseUnavailable(Object.assign(new Error('E11000'), { name: 'MongoServerError', code: 11000 }))).toBe(false);
});
