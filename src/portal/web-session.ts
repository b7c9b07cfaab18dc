import { timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { parse as parseCookies } from 'cookie';
import type { AttachmentStore, StoredAttachment } from '../attachments/store.js';
import { DeskbridgeError } from '../domain/errors.js';
import type { PersonDoc } from '../store/models.js';
import type { AttachmentRef } from '../tickets/types.js';
import type { UploadedFile } from './multipart.js';
import { randomToken, type PortalSession, type Sessions } from './store.js';

/*
 * Browser sessions for the portal and the console: a server-side session behind an HttpOnly
 * cookie, and a double-submit CSRF token for the forms shown before sign-in. Each area uses its
 * own collections and cookie names, so a portal session never opens the console.
 */

const HOUR = 3_600_000;

/** Constant-time comparison of two tokens; false when either is missing. */
export function sameToken(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface SignedIn {
  session: PortalSession;
  cookieValue: string;
  person: PersonDoc;
}

export interface WebSessionOptions {
  sessions: Sessions;
  findPerson: (personId: string) => Promise<PersonDoc | null>;
  sessionCookie: string;
  preSessionCookie: string;
  cookieOptions: { httpOnly: boolean; sameSite: 'lax'; secure: boolean; path: string };
}

const csrfRefused = () => new DeskbridgeError('FORBIDDEN', 'missing or wrong CSRF token', [{ field: 'csrf', message: 'csrf' }]);
const text = (v: unknown) => (typeof v === 'string' ? v : undefined);

export function webSessions(o: WebSessionOptions) {
  const cookiesOf = (req: Request) => parseCookies(req.headers.cookie ?? '');
  return {
    cookiesOf,

    /** The signed-in person of this request, or null. */
    async current(req: Request): Promise<SignedIn | null> {
      const cookieValue = cookiesOf(req)[o.sessionCookie];
      const session = await o.sessions.get(cookieValue);
      if (!session || !cookieValue) return null;
      const person = await o.findPerson(session.personId);
      return person ? { session, cookieValue, person } : null;
    },

    /** Double-submit token for forms shown before sign-in (sign-in request, link confirmation). */
    preSessionCsrf(req: Request, res: Response): string {
      const existing = cookiesOf(req)[o.preSessionCookie];
      if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
      const token = randomToken();
      res.cookie(o.preSessionCookie, token, { ...o.cookieOptions, maxAge: HOUR });
      return token;
    },
    checkPreSessionCsrf(req: Request, token: unknown): void {
      if (!sameToken(cookiesOf(req)[o.preSessionCookie], text(token))) throw csrfRefused();
    },
    checkSessionCsrf(s: SignedIn, token: unknown): void {
      if (!sameToken(s.session.csrf, text(token))) throw csrfRefused();
    },

    /** Signs the person in: a fresh session (the old one, if any, ends) and the pre-session token dropped. */
    async start(req: Request, res: Response, personId: string, ttlMs: number): Promise<void> {
      const old = cookiesOf(req)[o.sessionCookie];
      if (old) await o.sessions.destroy(old);
      const { cookieValue } = await o.sessions.create(personId, ttlMs);
      res.cookie(o.sessionCookie, cookieValue, { ...o.cookieOptions, maxAge: ttlMs });
      res.clearCookie(o.preSessionCookie, o.cookieOptions);
    },
    async end(res: Response, s: SignedIn): Promise<void> {
      await o.sessions.destroy(s.cookieValue);
      res.clearCookie(o.sessionCookie, o.cookieOptions);
    },
  };
}
export type WebSessions = ReturnType<typeof webSessions>;

/** Stores uploaded files; if one fails, the ones already stored are removed (nothing half-written). */
export async function storeUploads(attachments: AttachmentStore, files: UploadedFile[]): Promise<AttachmentRef[]> {
  const refs: AttachmentRef[] = [];
  try {
    for (const f of files) refs.push(await attachments.put(f.data, { filename: f.filename, contentType: f.contentType }));
  } catch (err) {
    await attachments.remove(refs.map((r) => r.id));
    throw err;
  }
  return refs;
}

/** Headers of every portal and console page: only our own CSP, no referrer, no framing, no caching. */
export function securityHeaders(csp: string): RequestHandler {
  return (_req, res, next) => {
    res.setHeader('Content-Security-Policy', csp);
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Vary', 'Accept-Language, Cookie');
    next();
  };
}

/**
 * Sends a stored file as a download that can never render in our origin: an uploaded HTML file
 * must not run as the portal or the console. (res.attachment sets a type from the file name, so
 * the type is set after it.)
 */
export function sendDownload(res: Response, file: StoredAttachment): void {
  res.attachment(file.ref.filename);
  res.setHeader('Content-Type', 'application/octet-stream');
  res.setHeader('Content-Length', String(file.ref.size));
  res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
  file.stream().on('error', (err) => res.destroy(err)).pipe(res);
}
