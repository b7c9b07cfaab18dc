/**
 * Errors with a stable code. The service throws these; each adapter turns the code into its own
 * platform's reply (HTTP status, SMTP reply, Slack ephemeral, Teams invoke error).
 */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'FORBIDDEN'
  | 'UNAUTHORIZED'
  | 'PAYLOAD_TOO_LARGE'
  | 'RATE_LIMITED'
  | 'UNAVAILABLE'
  | 'INTERNAL';

export interface FieldProblem {
  field: string;
  message: string;
}

export class DeskbridgeError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly problems: FieldProblem[] = [],
  ) {
    super(message);
    this.name = 'DeskbridgeError';
  }
}

export const invalid = (field: string, message: string) =>
  new DeskbridgeError('VALIDATION_FAILED', `${field}: ${message}`, [{ field, message }]);
export const notFound = (what: string) => new DeskbridgeError('NOT_FOUND', `${what} not found`);
export const conflict = (message: string) => new DeskbridgeError('CONFLICT', message);
export const forbidden = (message: string, field?: string) =>
  new DeskbridgeError('FORBIDDEN', message, field ? [{ field, message }] : []);

export const httpStatusFor: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  FORBIDDEN: 403,
  UNAUTHORIZED: 401,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};
