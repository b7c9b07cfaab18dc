import express, { type NextFunction, type Request, type Response } from 'express';
import type { AppContext, DeskbridgeModule } from '../app.js';
import { AttachmentStore } from '../attachments/store.js';
import { DeskbridgeError } from '../domain/errors.js';
import { isEmail, normaliseEmail } from '../domain/ticket-rules.js';
import { createMailTransport } from '../email/transport.js';
import type { PersonDoc } from '../store/models.js';
import { ensureIndexes } from '../store/database.js';
import type { AttachmentRef, TicketSummary } from '../tickets/types.js';
import { fill, textsFor, type Texts } from './i18n.js';
import { readMultipart } from './multipart.js';
import {
  PORTAL_CSS, confirmPage, listPage, messagePage, newTicketPage, signinPage, ticketPage, type Chrome,
} from './pages.js';
import { RateLimiter, Sessions, SigninLinks, createPortalModels, purgeExpired } from './store.js';
import { securityHeaders, sendDownload, storeUploads, webSessions, type SignedIn } from './web-session.js';

/** Every portal response: no inline script or style can run, no referrer carries a token away. */
const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

type Viewer = SignedIn;

type Handler = (req: Request, res: Response) => Promise<void>;

const ticketNumberParam = (raw: unknown): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0 || !/^\d+$/.test(String(raw))) throw new DeskbridgeError('NOT_FOUND', 'no such ticket');
  return n;
};

export function createPortalModule(): DeskbridgeModule {
  return {
    name: 'portal',
    async setup(ctx: AppContext) {
      const { config, service, logger } = ctx;
      const models = createPortalModels(ctx.db.connection);
      for (const m of Object.values(models)) await ensureIndexes(m);
      const links = new SigninLinks(models);
      const sessions = new Sessions(models);
      const limiter = new RateLimiter(models);
      const attachments = new AttachmentStore(ctx.db.connection.db as never);
      const mail = createMailTransport(config, logger);
      const secure = config.publicUrl.startsWith('https://');
      // __Host- cookies are only accepted over HTTPS; on plain http (development) use plain names.
      const SESSION_COOKIE = secure ? '__Host-deskbridge_portal' : 'deskbridge_portal';
      const PRE_COOKIE = secure ? '__Host-deskbridge_csrf' : 'deskbridge_csrf';
      const cookieOptions = { httpOnly: true, sameSite: 'lax' as const, secure, path: '/' };
      const sessionTtl = config.PORTAL_SESSION_HOURS * HOUR;
      const signinTtlMinutes = config.PORTAL_SIGNIN_LINK_MINUTES;
      const pendingMail = new Set<Promise<void>>();

      const loginUrl = (token: string) => `${config.publicUrl}/portal/login?token=${token}`;

      // Ticket emails link straight into the ticket, signed in: a single-use link that lives
      // longer than a typed-in request, because mail is often opened hours later.
      ctx.links.ticketUrlFor = async (personId, ticketNumber) => {
        const token = await links.issue(personId, { ttlMs: config.PORTAL_EMAIL_LINK_HOURS * HOUR, purpose: 'email', ticketNumber });
        return loginUrl(token);
      };

      ctx.scheduler.define('portal:purge-expired', async () => {
        await purgeExpired(models);
      });
      ctx.scheduler.every('1 hour', 'portal:purge-expired');
      ctx.onStop(async () => {
        await Promise.allSettled([...pendingMail]);
        mail.close();
      });

      // ------------------------------------------------------------ helpers

      const textsOf = (req: Request): Texts => textsFor(req.acceptsLanguages('en', 'de'));
      const web = webSessions({ sessions, findPerson: (id) => service.people.get(id), sessionCookie: SESSION_COOKIE, preSessionCookie: PRE_COOKIE, cookieOptions });
      const viewerOf = (req: Request): Promise<Viewer | null> => web.current(req);

      const chromeFor = (req: Request, v: Viewer): Chrome & { user: { name: string; csrf: string } } => ({
        t: textsOf(req), user: { name: v.person.name || v.person.primaryEmail, csrf: v.session.csrf },
      });

      async function mayRead(person: PersonDoc, ticketNumber: number): Promise<boolean> {
        const p = await service.participantsOf(ticketNumber);
        if (!p) return false;
        const id = String(person._id);
        if (p.requesterId === id || p.ccPersonIds.includes(id)) return true;
        return Boolean(person.customerAdmin && person.customer && p.customer === person.customer);
      }

      /** The user's tickets, newest first; customer admins also see their organisation's. */
      async function ticketsFor(person: PersonDoc, cursor: string | undefined): Promise<{ items: TicketSummary[]; next: string | null }> {
        const limit = 25;
        const own = await service.listTickets({ participant: String(person._id), cursor, limit });
        if (!(person.customerAdmin && person.customer)) return own;
        const org = await service.listTickets({ customer: person.customer, cursor, limit });
        const byNumber = new Map<number, TicketSummary>();
        for (const s of [...own.items, ...org.items]) byNumber.set(s.number, s);
        const items = [...byNumber.values()].sort((a, b) => b.number - a.number).slice(0, limit);
        const more = own.next !== null || org.next !== null || byNumber.size > limit;
        const next = more && items.length > 0 ? Buffer.from(String(items[items.length - 1]!.number)).toString('base64url') : null;
        return { items, next };
      }

      /** Renders a DeskbridgeError as a page in the user's language, with the stable code's HTTP status. */
      function errorText(t: Texts, e: DeskbridgeError): string {
        switch (e.code) {
          case 'VALIDATION_FAILED': return fill(t.invalid, { message: e.problems.map((p) => `${p.field}: ${p.message}`).join('; ') || e.message });
          case 'PAYLOAD_TOO_LARGE': return t.tooLarge;
          case 'FORBIDDEN': return t.forbidden;
          case 'NOT_FOUND': return t.notFound;
          case 'RATE_LIMITED': return t.rateLimited;
          default: return t.error;
        }
      }
      const statusOf: Record<string, number> = { VALIDATION_FAILED: 400, PAYLOAD_TOO_LARGE: 413, FORBIDDEN: 403, NOT_FOUND: 404, RATE_LIMITED: 429, UNAVAILABLE: 503 };

      const page = (fn: Handler) => async (req: Request, res: Response, next: NextFunction) => {
        try {
          await fn(req, res);
        } catch (err) {
          if (!(err instanceof DeskbridgeError)) {
            next(err);
            return;
          }
          const t = textsOf(req);
          res.status(statusOf[err.code] ?? 500).type('html')
            .send(messagePage({ t }, t.portalTitle, errorText(t, err), { href: '/portal', label: t.back }));
        }
      };

      /** Pages behind sign-in: no session → the sign-in page (GET) or 403 (anything else). */
      const signedIn = (fn: (req: Request, res: Response, v: Viewer) => Promise<void>) => page(async (req, res) => {
        const v = await viewerOf(req);
        if (!v) {
          if (req.method === 'GET') {
            res.redirect(303, '/portal/signin');
            return;
          }
          throw new DeskbridgeError('FORBIDDEN', 'not signed in');
        }
        await fn(req, res, v);
      });

      // ------------------------------------------------------------ routes

      const router = express.Router();
      router.use(securityHeaders(CSP));
      const form = express.urlencoded({ extended: false, limit: '16kb' });

      router.get('/static/portal.css', (_req, res) => {
        res.setHeader('Cache-Control', 'public, max-age=3600');
        res.type('text/css').send(PORTAL_CSS);
      });

      router.get('/signin', page(async (req, res) => {
        res.type('html').send(signinPage({ t: textsOf(req) }, { csrf: web.preSessionCsrf(req, res) }));
      }));

      router.post('/signin', form, page(async (req, res) => {
        web.checkPreSessionCsrf(req, req.body?.csrf);
        const t = textsOf(req);
        const raw = typeof req.body?.email === 'string' ? req.body.email.trim() : '';
        const csrf = web.preSessionCsrf(req, res);
        if (!isEmail(raw)) {
          res.status(400).type('html').send(signinPage({ t }, { csrf, error: fill(t.invalid, { message: t.email }), email: raw }));
          return;
        }
        const email = normaliseEmail(raw);
        const windowMs = config.PORTAL_SIGNIN_WINDOW_MINUTES * MINUTE;
        const ipOk = await limiter.hit(`signin:ip:${req.ip ?? 'unknown'}`, config.PORTAL_SIGNIN_LIMIT_PER_IP, windowMs);
        const addressOk = ipOk && await limiter.hit(`signin:address:${email}`, config.PORTAL_SIGNIN_LIMIT_PER_ADDRESS, windowMs);
        if (!ipOk || !addressOk) {
          res.status(429).setHeader('Retry-After', String(Math.ceil(windowMs / 1000)));
          res.type('html').send(signinPage({ t }, { csrf, error: t.rateLimited, email: raw }));
          return;
        }
        // Look-up, link and mail happen after the answer, so neither the answer nor its timing
        // tells whether the address is known.
        const job = sendSigninMail(email, t).catch((err) => logger.error({ err }, 'portal sign-in mail failed'));
        pendingMail.add(job);
        void job.finally(() => pendingMail.delete(job));
        res.type('html').send(signinPage({ t }, { csrf, notice: fill(t.linkSent, { minutes: signinTtlMinutes }) }));
      }));

      async function sendSigninMail(email: string, t: Texts): Promise<void> {
        const person = await service.people.findByEmail(email);
        if (!person) return;
        const token = await links.issue(String(person._id), { ttlMs: signinTtlMinutes * MINUTE, purpose: 'signin' });
        const url = loginUrl(token);
        const intro = t.lang === 'de'
          ? `Hallo ${person.name || ''},\n\nmit diesem Link melden Sie sich beim Serviceportal an. Er ist ${signinTtlMinutes} Minuten gültig und funktioniert einmal:`
          : `Hello ${person.name || ''},\n\nuse this link to sign in to the service portal. It is valid for ${signinTtlMinutes} minutes and works once:`;
        const outro = t.lang === 'de'
          ? 'Wenn Sie diesen Link nicht angefordert haben, ignorieren Sie diese E-Mail.'
          : 'If you did not ask for this link, ignore this email.';
        await mail.send({
          from: config.MAIL_FROM,
          to: person.primaryEmail,
          subject: t.lang === 'de' ? 'Ihr Anmeldelink zum Serviceportal' : 'Your sign-in link for the service portal',
          text: `${intro}\n\n${url}\n\n${outro}\n`,
        });
      }

      router.get('/login', page(async (req, res) => {
        const t = textsOf(req);
        const token = typeof req.query.token === 'string' ? req.query.token : '';
        // Already signed in as the link's person (e.g. an older ticket email): just open the ticket.
        const v = await viewerOf(req);
        if (v) {
          const link = await links.peek(token);
          if (link && link.personId === String(v.person._id)) {
            res.redirect(303, link.ticketNumber ? `/portal/tickets/${link.ticketNumber}` : '/portal');
            return;
          }
        }
        res.type('html').send(confirmPage({ t }, { csrf: web.preSessionCsrf(req, res), token }));
      }));

      router.post('/login', form, page(async (req, res) => {
        web.checkPreSessionCsrf(req, req.body?.csrf);
        const t = textsOf(req);
        const link = await links.redeem(typeof req.body?.token === 'string' ? req.body.token : '');
        if (!link) {
          res.status(400).type('html').send(messagePage({ t }, t.signinTitle, t.linkInvalid, { href: '/portal/signin', label: t.requestNew }));
          return;
        }
        await web.start(req, res, link.personId, sessionTtl);
        res.redirect(303, link.ticketNumber ? `/portal/tickets/${link.ticketNumber}` : '/portal');
      }));

      router.post('/signout', form, signedIn(async (req, res, v) => {
        web.checkSessionCsrf(v, req.body?.csrf);
        await web.end(res, v);
        res.redirect(303, '/portal/signin');
      }));

      router.get('/', signedIn(async (req, res, v) => {
        const cursor = typeof req.query.cursor === 'string' ? req.query.cursor : undefined;
        const { items, next } = await ticketsFor(v.person, cursor);
        res.type('html').send(listPage(chromeFor(req, v), items, next));
      }));

      router.get('/new', signedIn(async (req, res, v) => {
        res.type('html').send(newTicketPage(chromeFor(req, v)));
      }));

      router.post('/tickets', signedIn(async (req, res, v) => {
        const body = await readMultipartOrRender(req, res, (error) => newTicketPage(chromeFor(req, v), { error }));
        if (!body) return;
        web.checkSessionCsrf(v, body.fields.csrf);
        const title = body.fields.title ?? '';
        const description = body.fields.description ?? '';
        let refs: AttachmentRef[] = [];
        try {
          refs = await storeUploads(attachments, body.files);
          const ticket = await service.createTicket({
            title, description, source: 'portal', attachments: refs,
            requester: { email: v.person.primaryEmail, name: v.person.name ?? undefined },
          });
          res.redirect(303, `/portal/tickets/${ticket.number}`);
        } catch (err) {
          await attachments.remove(refs.map((r) => r.id));
          if (!(err instanceof DeskbridgeError) || err.code !== 'VALIDATION_FAILED') throw err;
          const t = textsOf(req);
          res.status(400).type('html').send(newTicketPage(chromeFor(req, v), { error: errorText(t, err), title, description }));
        }
      }));

      router.get('/tickets/:number', signedIn(async (req, res, v) => {
        const n = ticketNumberParam(req.params.number);
        if (!(await mayRead(v.person, n))) throw new DeskbridgeError('NOT_FOUND', 'no such ticket');
        res.type('html').send(ticketPage(chromeFor(req, v), await service.getContactView(n)));
      }));

      router.post('/tickets/:number/replies', signedIn(async (req, res, v) => {
        const n = ticketNumberParam(req.params.number);
        if (!(await mayRead(v.person, n))) throw new DeskbridgeError('NOT_FOUND', 'no such ticket');
        const rerender = async (error: string) => ticketPage(chromeFor(req, v), await service.getContactView(n), { error });
        const body = await readMultipartOrRender(req, res, rerender);
        if (!body) return;
        web.checkSessionCsrf(v, body.fields.csrf);
        let refs: AttachmentRef[] = [];
        try {
          refs = await storeUploads(attachments, body.files);
          // The same call an email reply makes: same cap, status and notification rules.
          const { entry } = await service.addEntry(n, {
            kind: 'reply', text: body.fields.text ?? '', author: { personId: String(v.person._id) }, source: 'portal', attachments: refs,
          });
          res.redirect(303, `/portal/tickets/${entry.ticketNumber}#entry-${entry.id}`);
        } catch (err) {
          await attachments.remove(refs.map((r) => r.id));
          if (!(err instanceof DeskbridgeError) || err.code !== 'VALIDATION_FAILED') throw err;
          res.status(400).type('html').send(await rerender(errorText(textsOf(req), err)));
        }
      }));

      router.get('/tickets/:number/attachments/:id', signedIn(async (req, res, v) => {
        const n = ticketNumberParam(req.params.number);
        if (!(await mayRead(v.person, n))) throw new DeskbridgeError('NOT_FOUND', 'no such ticket');
        // Only files of public entries of this ticket: the same query the page is built from.
        const view = await service.getContactView(n);
        const id = String(req.params.id);
        const listed = view.entries.some((e) => e.attachments.some((a) => a.id === id));
        const file = listed ? await attachments.get(id) : null;
        if (!file) throw new DeskbridgeError('NOT_FOUND', 'no such attachment');
        sendDownload(res, file);
      }));

      /** Parses a multipart form; on a too-large or malformed body re-renders the form with the error. */
      async function readMultipartOrRender(req: Request, res: Response, rerender: (error: string) => string | Promise<string>) {
        try {
          return await readMultipart(req);
        } catch (err) {
          if (!(err instanceof DeskbridgeError)) throw err;
          res.status(statusOf[err.code] ?? 400).type('html').send(await rerender(errorText(textsOf(req), err)));
          return null;
        }
      }

      ctx.http.use('/portal', router);
    },
  };
}

export const portalModule = createPortalModule();
