import express, { type NextFunction, type Request, type Response } from 'express';
import type { AppContext, ComposeAction, DeskbridgeModule } from '../app.js';
import { AttachmentStore } from '../attachments/store.js';
import { automationModels } from '../automations/store.js';
import { RuleStore, type RuleView } from '../automations/rules.js';
import { recentRuleRuns } from '../automations/runs.js';
import { actionSchema, ruleSchema, triggerSchema } from '../automations/schema.js';
import { CHANGE_FIELDS, CONDITION_FIELDS, CONDITION_OPS } from '../domain/automation-rules.js';
import { fromZod } from '../http/errors.js';
import { DeskbridgeError } from '../domain/errors.js';
import { PRIORITIES, TICKET_TYPES, allStatuses, isEmail, normaliseEmail } from '../domain/ticket-rules.js';
import { firstName, renderTemplate } from '../domain/templates.js';
import { createMailTransport } from '../email/transport.js';
import { readMultipart, type UploadedFile } from '../portal/multipart.js';
import { RateLimiter, Sessions, SigninLinks, purgeExpired } from '../portal/store.js';
import { securityHeaders, sendDownload, storeUploads, webSessions, type SignedIn } from '../portal/web-session.js';
import type { PersonDoc } from '../store/models.js';
import { ensureIndexes } from '../store/database.js';
import type { AttachmentRef, DomainEvent, TicketPatch } from '../tickets/types.js';
import { CONSOLE_CSS, CONSOLE_JS } from './assets.js';
import { fill, textsFor, type Texts } from './i18n.js';
import {
  channelsPage, confirmPage, contactRefusedPage, listPage, messagePage, peoplePage, presenceBar, ruleEditPage, rulesPage, settingsPage,
  setupPage, signinPage, templatesPage, ticketPage, welcomePage,
  type Chrome, type ChannelRow, type ListQuery, type MailLogRow, type RuleDraft, type RuleFormChoices, type TicketPageData, type Viewer,
} from './pages.js';
import { LiveFeed } from './live.js';
import { SetupLinks, createConsoleModels } from './store.js';
import { createSso, type Sso } from './sso.js';

/*
 * The technician and admin console: server-rendered pages over the TicketService, like the portal
 * (whose escaping, sign-in link, session and rate-limit classes it reuses over its own
 * collections). It holds no rule of its own: every change is one service call, so the activity
 * log, Slack and Teams show it as they show any other change.
 */

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Technicians' sign-in links live as briefly as the portal's typed-in ones. */
const SIGNIN_LINK_MINUTES = 10;

type Session = SignedIn;

type Handler = (req: Request, res: Response) => Promise<void>;

const ticketNumberParam = (raw: unknown): number => {
  if (!/^\d{1,9}$/.test(String(raw)) || Number(raw) <= 0) throw new DeskbridgeError('NOT_FOUND', 'no such ticket');
  return Number(raw);
};

const str = (v: unknown) => (typeof v === 'string' ? v : '');
const isTechnician = (p: PersonDoc) => (p.roles ?? []).includes('technician');
const isAdmin = (p: PersonDoc) => isTechnician(p) && (p.roles ?? []).includes('admin');
const emailList = (raw: string) => raw.split(/[\s,;]+/).map((s) => s.replace(/^@/, '').trim()).filter(Boolean);

export interface ConsoleRuntime {
  /** The setup link printed at this start, if there was no technician yet. */
  setupUrl: string | null;
  printSetupLinkIfNeeded(): Promise<void>;
}
const runtimes = new WeakMap<AppContext, ConsoleRuntime>();
export const consoleRuntimeOf = (ctx: AppContext) => runtimes.get(ctx) ?? null;
const liveFeeds = new WeakMap<AppContext, LiveFeed>();
/** The instance's live feed (tests read it to wait for one tail read). */
export const consoleLiveFeedOf = (ctx: AppContext) => liveFeeds.get(ctx) ?? null;

export function createConsoleModule(): DeskbridgeModule {
  return {
    name: 'console',
    async setup(ctx: AppContext) {
      const { config, service, logger } = ctx;
      const models = createConsoleModels(ctx.db.connection);
      for (const m of Object.values(models)) await ensureIndexes(m);
      const links = new SigninLinks(models);
      const sessions = new Sessions(models);
      const limiter = new RateLimiter(models);
      const setupLinks = new SetupLinks(models);
      const attachments = new AttachmentStore(ctx.db.connection.db as never);
      const rules = new RuleStore(automationModels(ctx.db.connection), service);
      const mail = createMailTransport(config, logger);
      const secure = config.publicUrl.startsWith('https://');
      const SESSION_COOKIE = secure ? '__Host-deskbridge_console' : 'deskbridge_console';
      const PRE_COOKIE = secure ? '__Host-deskbridge_console_csrf' : 'deskbridge_console_csrf';
      const PORTAL_COOKIE = secure ? '__Host-deskbridge_portal' : 'deskbridge_portal';
      const cookieOptions = { httpOnly: true, sameSite: 'lax' as const, secure, path: '/' };
      const sessionTtl = config.CONSOLE_SESSION_HOURS * HOUR;
      const pendingMail = new Set<Promise<void>>();
      const runtime: ConsoleRuntime = { setupUrl: null, printSetupLinkIfNeeded: async () => undefined };
      runtimes.set(ctx, runtime);
      const sso: Sso | null = config.OIDC_ISSUER && config.OIDC_CLIENT_ID && config.OIDC_CLIENT_SECRET
        ? createSso({ issuer: config.OIDC_ISSUER, clientId: config.OIDC_CLIENT_ID, clientSecret: config.OIDC_CLIENT_SECRET, redirectUri: `${config.publicUrl}/console/sso/callback`, logger })
        : null;

      ctx.scheduler.define('console:purge-expired', async () => {
        await purgeExpired(models);
      });
      ctx.scheduler.every('1 hour', 'console:purge-expired');

      // ------------------------------------------------------------ live updates (server-sent events)

      interface LiveClient { res: Response; ticket: number | null }
      const clients = new Set<LiveClient>();
      // Events from this instance and, tailed from the database, from every other one (live.ts).
      const live = new LiveFeed(ctx.db.models.Event, service.dispatcher, config.CONSOLE_LIVE_POLL_MS, logger);
      liveFeeds.set(ctx, live);
      const broadcast = (e: DomainEvent) => {
        const data = `data: ${JSON.stringify({ type: e.type, ticketNumber: e.ticketNumber, actorId: e.actor.personId, at: e.at })}\n\n`;
        for (const c of clients) {
          const into = e.type === 'ticket.merged' ? Number((e.data as { into?: unknown }).into) : NaN;
          if (c.ticket === null || c.ticket === e.ticketNumber || c.ticket === into) c.res.write(data);
        }
      };
      let unsubscribe: (() => void) | null = null;
      const addClient = (c: LiveClient) => {
        clients.add(c);
        unsubscribe ??= live.subscribe(broadcast);
      };
      const removeClient = (c: LiveClient) => {
        clients.delete(c);
        if (clients.size === 0) { unsubscribe?.(); unsubscribe = null; }
      };
      const heartbeat = setInterval(() => { for (const c of clients) c.res.write(': keep-alive\n\n'); }, 25_000);
      heartbeat.unref();
      ctx.onStop(async () => {
        unsubscribe?.();
        live.stop();
        clearInterval(heartbeat);
        for (const c of clients) c.res.end();
        clients.clear();
        await Promise.allSettled([...pendingMail]);
        mail.close();
      });

      // ------------------------------------------------------------ helpers

      const textsOf = (req: Request): Texts => textsFor(req.acceptsLanguages('en', 'de'));
      const web = webSessions({ sessions, findPerson: (id) => service.people.get(id), sessionCookie: SESSION_COOKIE, preSessionCookie: PRE_COOKIE, cookieOptions });
      const { cookiesOf } = web;
      const sessionOf = (req: Request): Promise<Session | null> => web.current(req);
      const preSessionCsrf = (req: Request, res: Response) => web.preSessionCsrf(req, res);
      const checkPreSessionCsrf = (req: Request, token: unknown) => web.checkPreSessionCsrf(req, token);
      const checkCsrf = (s: Session, token: unknown) => web.checkSessionCsrf(s, token);

      const viewerOf = (s: Session): Viewer => ({
        id: String(s.person._id), name: s.person.name || s.person.primaryEmail, email: s.person.primaryEmail, admin: isAdmin(s.person), csrf: s.session.csrf,
      });
      const chrome = (req: Request, s?: Session, extra: Partial<Chrome> = {}): Chrome => ({ t: textsOf(req), viewer: s ? viewerOf(s) : undefined, ...extra });
      const me = (s: Session) => ({ personId: String(s.person._id) });

      function errorText(t: Texts, e: DeskbridgeError): string {
        switch (e.code) {
          case 'VALIDATION_FAILED': return fill(t.invalid, { message: e.problems.map((p) => `${p.field}: ${p.message}`).join('; ') || e.message });
          case 'PAYLOAD_TOO_LARGE': return t.tooLarge;
          case 'FORBIDDEN': return e.problems.some((p) => p.field === 'csrf') ? t.csrf : t.forbidden;
          case 'NOT_FOUND': return e.problems.length ? fill(t.invalid, { message: e.message }) : t.notFound;
          case 'RATE_LIMITED': return t.rateLimited;
          case 'CONFLICT': return fill(t.conflict, { message: e.message });
          case 'UNAVAILABLE': return fill(t.unavailable, { message: e.message });
          default: return t.error;
        }
      }
      const statusOf: Record<string, number> = { VALIDATION_FAILED: 400, PAYLOAD_TOO_LARGE: 413, FORBIDDEN: 403, NOT_FOUND: 404, RATE_LIMITED: 429, CONFLICT: 409, UNAVAILABLE: 503 };

      const page = (fn: Handler) => async (req: Request, res: Response, next: NextFunction) => {
        try {
          await fn(req, res);
        } catch (err) {
          if (!(err instanceof DeskbridgeError)) {
            next(err);
            return;
          }
          const t = textsOf(req);
          const s = await sessionOf(req).catch(() => null);
          if (req.headers.accept?.includes('application/json')) {
            res.status(statusOf[err.code] ?? 500).json({ error: { code: err.code, message: err.message } });
            return;
          }
          res.status(statusOf[err.code] ?? 500).type('html')
            .send(messagePage(chrome(req, s && isTechnician(s.person) ? s : undefined), t.title, errorText(t, err), { href: '/console', label: t.back }));
        }
      };

      /** Behind sign-in and the technician role; contacts get the way to the portal. */
      const signedIn = (fn: (req: Request, res: Response, s: Session) => Promise<void>) => page(async (req, res) => {
        const s = await sessionOf(req);
        if (!s) {
          if (req.method === 'GET' && !req.headers.accept?.includes('text/event-stream')) {
            res.redirect(303, '/console/signin');
            return;
          }
          throw new DeskbridgeError('FORBIDDEN', 'not signed in');
        }
        if (!isTechnician(s.person)) {
          res.status(403).type('html').send(contactRefusedPage(chrome(req)));
          return;
        }
        await fn(req, res, s);
      });
      const adminOnly = (fn: (req: Request, res: Response, s: Session) => Promise<void>) => signedIn(async (req, res, s) => {
        if (!isAdmin(s.person)) throw new DeskbridgeError('FORBIDDEN', 'admins only');
        await fn(req, res, s);
      });

      const startSession = (req: Request, res: Response, personId: string) => web.start(req, res, personId, sessionTtl);

      const storeFiles = (files: UploadedFile[]) => storeUploads(attachments, files);

      const chatChannels = () => (['slack', 'teams'] as const).filter((c) => Boolean(ctx.notifiers.get(c)));

      async function ticketPageData(s: Session, n: number, opts: { tab?: string; draft?: TicketPageData['draft']; fieldErrors?: Record<string, string> } = {}): Promise<TicketPageData> {
        const [ticket, settings, technicians, contacts, templates] = await Promise.all([
          service.getTicket(n), service.settings.get(), service.people.list({ role: 'technician', limit: 500 }),
          service.people.list({ role: 'contact', limit: 200 }), service.settings.listTemplates(),
        ]);
        await service.markWorking(n, String(s.person._id), 'console');
        return {
          ticket, settings, technicians, contacts, templates,
          statuses: allStatuses(settings.customStatuses),
          presence: await service.presence(n, String(s.person._id)),
          activity: opts.tab === 'activity' ? await service.getActivity(n) : null,
          aiConfigured: ctx.ai.isConfigured(),
          chatChannels: chatChannels(),
          presencePollMs: config.CONSOLE_PRESENCE_POLL_MS,
          draft: opts.draft, fieldErrors: opts.fieldErrors,
        };
      }

      const problemsByField = (e: DeskbridgeError): Record<string, string> =>
        Object.fromEntries((e.problems.length ? e.problems : [{ field: 'title', message: e.message }]).map((p) => [p.field.split('.')[0]!, p.message]));

      // ------------------------------------------------------------ first run

      async function printSetupLinkIfNeeded(): Promise<void> {
        const technicians = await service.people.list({ role: 'technician', limit: 1 });
        if (technicians.length > 0) return;
        const token = await setupLinks.issue();
        runtime.setupUrl = `${config.publicUrl}/console/setup?token=${token}`;
        logger.warn({ setupUrl: runtime.setupUrl }, `No technician yet. Open this one-time link within 24 hours to create the first administrator: ${runtime.setupUrl}`);
      }
      // Printed at start (after listen), so the URL is the one the server answers on.
      runtime.printSetupLinkIfNeeded = printSetupLinkIfNeeded;

      // ------------------------------------------------------------ routes

      const router = express.Router();
      router.use(securityHeaders(CSP));
      const form = express.urlencoded({ extended: false, limit: '64kb' });

      router.get('/static/console.css', (_req, res) => {
        res.setHeader('Cache-Control', 'public, max-age=3600');
        res.type('text/css').send(CONSOLE_CSS);
      });
      router.get('/static/console.js', (_req, res) => {
        res.setHeader('Cache-Control', 'public, max-age=3600');
        res.type('text/javascript').send(CONSOLE_JS);
      });

      // --- setup
      router.get('/setup', page(async (req, res) => {
        const t = textsOf(req);
        const token = str(req.query.token);
        if ((await service.people.list({ role: 'admin', limit: 1 })).length > 0) {
          res.status(410).type('html').send(messagePage(chrome(req), t.setupTitle, t.setupDone, { href: '/console/signin', label: t.signinTitle }));
          return;
        }
        if (!(await setupLinks.isValid(token))) {
          res.status(400).type('html').send(messagePage(chrome(req), t.setupTitle, t.linkInvalid));
          return;
        }
        res.type('html').send(setupPage(chrome(req), { csrf: preSessionCsrf(req, res), token }));
      }));

      router.post('/setup', form, page(async (req, res) => {
        checkPreSessionCsrf(req, req.body?.csrf);
        const t = textsOf(req);
        const token = str(req.body?.token);
        const email = str(req.body?.email).trim();
        const name = str(req.body?.name).trim().slice(0, 200);
        if ((await service.people.list({ role: 'admin', limit: 1 })).length > 0) {
          res.status(410).type('html').send(messagePage(chrome(req), t.setupTitle, t.setupDone, { href: '/console/signin', label: t.signinTitle }));
          return;
        }
        if (!isEmail(email)) {
          res.status(400).type('html').send(setupPage(chrome(req, undefined, { error: fill(t.invalid, { message: t.email }) }), { csrf: preSessionCsrf(req, res), token, email, name }));
          return;
        }
        // Validated first, then the link is used up, then the admin is created.
        if (!(await setupLinks.redeem(token))) {
          res.status(400).type('html').send(messagePage(chrome(req), t.setupTitle, t.linkInvalid));
          return;
        }
        const { person } = await service.people.register({ email, name: name || undefined, roles: ['technician', 'admin'] });
        runtime.setupUrl = null;
        logger.info({ email: person.email }, 'first administrator created through the setup link');
        await startSession(req, res, person.id);
        res.redirect(303, '/console');
      }));

      // --- sign-in by link
      router.get('/signin', page(async (req, res) => {
        res.type('html').send(signinPage(chrome(req), { csrf: preSessionCsrf(req, res), sso: Boolean(sso) }));
      }));

      router.post('/signin', form, page(async (req, res) => {
        checkPreSessionCsrf(req, req.body?.csrf);
        const t = textsOf(req);
        const raw = str(req.body?.email).trim();
        const csrf = preSessionCsrf(req, res);
        if (!isEmail(raw)) {
          res.status(400).type('html').send(signinPage(chrome(req, undefined, { error: fill(t.invalid, { message: t.email }) }), { csrf, email: raw, sso: Boolean(sso) }));
          return;
        }
        const email = normaliseEmail(raw);
        const windowMs = config.PORTAL_SIGNIN_WINDOW_MINUTES * MINUTE;
        const ipOk = await limiter.hit(`signin:ip:${req.ip ?? 'unknown'}`, config.PORTAL_SIGNIN_LIMIT_PER_IP, windowMs);
        const addressOk = ipOk && await limiter.hit(`signin:address:${email}`, config.PORTAL_SIGNIN_LIMIT_PER_ADDRESS, windowMs);
        if (!ipOk || !addressOk) {
          res.status(429).setHeader('Retry-After', String(Math.ceil(windowMs / 1000)));
          res.type('html').send(signinPage(chrome(req, undefined, { error: t.rateLimited }), { csrf, email: raw, sso: Boolean(sso) }));
          return;
        }
        // Look-up and mail after the answer: neither the answer nor its timing tells whether the address is known.
        const job = sendSigninMail(email, t).catch((err) => logger.error({ err }, 'console sign-in mail failed'));
        pendingMail.add(job);
        void job.finally(() => pendingMail.delete(job));
        res.type('html').send(signinPage(chrome(req, undefined, { notice: fill(t.linkSent, { minutes: SIGNIN_LINK_MINUTES }) }), { csrf, sso: Boolean(sso) }));
      }));

      async function sendSigninMail(email: string, t: Texts): Promise<void> {
        const person = await service.people.findByEmail(email);
        if (!person) return;
        const de = t.lang === 'de';
        if (!isTechnician(person)) {
          // An end user who found the console: no console link, the way to their portal instead.
          await mail.send({
            from: config.MAIL_FROM, to: person.primaryEmail,
            subject: de ? 'Ihre Tickets im Serviceportal' : 'Your tickets are in the service portal',
            text: de
              ? `Hallo ${person.name || ''},\n\ndie Konsole ist für Techniker. Ihre Tickets finden Sie im Serviceportal:\n\n${config.publicUrl}/portal/signin\n`
              : `Hello ${person.name || ''},\n\nthe console is for technicians. Your tickets are in the service portal:\n\n${config.publicUrl}/portal/signin\n`,
          });
          return;
        }
        const token = await links.issue(String(person._id), { ttlMs: SIGNIN_LINK_MINUTES * MINUTE, purpose: 'signin' });
        const url = `${config.publicUrl}/console/login?token=${token}`;
        await mail.send({
          from: config.MAIL_FROM, to: person.primaryEmail,
          subject: de ? 'Ihr Anmeldelink zur deskbridge-Konsole' : 'Your sign-in link for the deskbridge console',
          text: de
            ? `Hallo ${person.name || ''},\n\nmit diesem Link melden Sie sich bei der Konsole an. Er ist ${SIGNIN_LINK_MINUTES} Minuten gültig und funktioniert einmal:\n\n${url}\n\nWenn Sie ihn nicht angefordert haben, ignorieren Sie diese E-Mail.\n`
            : `Hello ${person.name || ''},\n\nuse this link to sign in to the console. It is valid for ${SIGNIN_LINK_MINUTES} minutes and works once:\n\n${url}\n\nIf you did not ask for it, ignore this email.\n`,
        });
      }

      router.get('/login', page(async (req, res) => {
        const t = textsOf(req);
        res.type('html').send(confirmPage(chrome(req), { csrf: preSessionCsrf(req, res), token: str(req.query.token), action: '/console/login', title: t.confirmTitle, intro: t.confirmIntro }));
      }));

      router.post('/login', form, page(async (req, res) => {
        checkPreSessionCsrf(req, req.body?.csrf);
        const t = textsOf(req);
        const link = await links.redeem(str(req.body?.token));
        if (!link) {
          res.status(400).type('html').send(messagePage(chrome(req), t.signinTitle, t.linkInvalid, { href: '/console/signin', label: t.requestNew }));
          return;
        }
        const person = await service.people.get(link.personId);
        if (!person || !isTechnician(person)) {
          res.status(403).type('html').send(contactRefusedPage(chrome(req)));
          return;
        }
        await startSession(req, res, link.personId);
        res.redirect(303, '/console');
      }));

      // --- single sign-on (OpenID Connect)
      router.get('/sso', page(async (req, res) => {
        if (!sso) throw new DeskbridgeError('NOT_FOUND', 'single sign-on is not configured');
        const { url, state } = await sso.start();
        res.cookie(SSO_COOKIE, state, { ...cookieOptions, maxAge: 10 * MINUTE });
        res.redirect(303, url);
      }));
      const SSO_COOKIE = secure ? '__Host-deskbridge_console_sso' : 'deskbridge_console_sso';
      router.get('/sso/callback', page(async (req, res) => {
        if (!sso) throw new DeskbridgeError('NOT_FOUND', 'single sign-on is not configured');
        const t = textsOf(req);
        const state = cookiesOf(req)[SSO_COOKIE];
        res.clearCookie(SSO_COOKIE, cookieOptions);
        const email = state ? await sso.finish(new URL(req.originalUrl, config.publicUrl), state).catch((err) => {
          logger.warn({ err }, 'console single sign-on failed');
          return null;
        }) : null;
        const person = email ? await service.people.findByEmail(email) : null;
        if (!person) {
          res.status(403).type('html').send(messagePage(chrome(req), t.signinTitle, t.ssoFailed, { href: '/console/signin', label: t.signinTitle }));
          return;
        }
        if (!isTechnician(person)) {
          res.status(403).type('html').send(contactRefusedPage(chrome(req)));
          return;
        }
        await startSession(req, res, String(person._id));
        res.redirect(303, '/console');
      }));

      router.post('/signout', form, signedIn(async (req, res, s) => {
        checkCsrf(s, req.body?.csrf);
        await web.end(res, s);
        res.redirect(303, '/console/signin');
      }));

      // --- ticket list
      router.get('/', signedIn(async (req, res, s) => {
        const sort = ['updated', 'created', 'priority'].includes(str(req.query.sort)) ? (str(req.query.sort) as ListQuery['sort']) : 'updated';
        const q: ListQuery = {
          status: str(req.query.status), assignee: str(req.query.assignee), priority: str(req.query.priority), customer: str(req.query.customer).trim(),
          activity: str(req.query.activity), q: str(req.query.q).trim().slice(0, 200), sort, cursor: str(req.query.cursor),
        };
        const settings = await service.settings.get();
        const statuses = allStatuses(settings.customStatuses);
        const assignee = q.assignee === 'me' ? String(s.person._id) : q.assignee === 'none' ? 'none' : undefined;
        let result;
        let error: string | undefined;
        try {
          result = await service.listTickets({
            status: q.status || undefined, assignee, priority: q.priority || undefined, customer: q.customer || undefined,
            activityStatus: q.activity || undefined, q: q.q || undefined, sort, cursor: q.cursor || undefined, limit: 25,
          });
        } catch (err) {
          if (!(err instanceof DeskbridgeError) || err.code !== 'VALIDATION_FAILED') throw err;
          error = errorText(textsOf(req), err);
          result = { items: [], next: null };
          res.status(400);
        }
        res.type('html').send(listPage(chrome(req, s, { nav: 'tickets', error }), q, result.items, result.next, statuses));
      }));

      router.get('/events', signedIn(async (req, res) => {
        const ticket = req.query.ticket !== undefined ? ticketNumberParam(req.query.ticket) : null;
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
        res.write('retry: 2000\n\n');
        const client: LiveClient = { res, ticket };
        addClient(client);
        req.on('close', () => removeClient(client));
      }));

      // --- ticket page
      router.get('/tickets/:number', signedIn(async (req, res, s) => {
        const n = ticketNumberParam(req.params.number);
        res.type('html').send(ticketPage(chrome(req, s, { nav: 'tickets' }), await ticketPageData(s, n, { tab: str(req.query.tab) })));
      }));

      router.post('/tickets/:number/fields', form, signedIn(async (req, res, s) => {
        const n = ticketNumberParam(req.params.number);
        checkCsrf(s, req.body?.csrf);
        const current = await service.getTicket(n);
        const b = req.body as Record<string, unknown>;
        const patch: TicketPatch = {};
        const opt = (v: unknown) => (str(v).trim() === '' ? null : str(v).trim());
        if (b.title !== undefined && str(b.title) !== current.title) patch.title = str(b.title);
        if (b.status !== undefined && str(b.status) !== current.status) patch.status = str(b.status);
        if (b.priority !== undefined && str(b.priority) !== current.priority) patch.priority = str(b.priority) as TicketPatch['priority'];
        if (b.type !== undefined && str(b.type) !== current.type) patch.type = str(b.type) as TicketPatch['type'];
        if (b.impact !== undefined && opt(b.impact) !== current.impact) patch.impact = opt(b.impact) as TicketPatch['impact'];
        if (b.productFamily !== undefined && opt(b.productFamily) !== current.productFamily) patch.productFamily = opt(b.productFamily);
        if (b.customer !== undefined && opt(b.customer) !== current.customer) patch.customer = opt(b.customer);
        if (b.assignee !== undefined && (opt(b.assignee) ?? null) !== (current.assignee?.id ?? null)) patch.assignee = opt(b.assignee) ? { personId: str(b.assignee) } : null;
        if (b.requester !== undefined && normaliseEmail(str(b.requester)) !== (current.requester?.email ?? '')) {
          if (!isEmail(str(b.requester))) {
            res.status(400).type('html').send(ticketPage(chrome(req, s, { nav: 'tickets', error: fill(textsOf(req).invalid, { message: textsOf(req).requester }) }),
              await ticketPageData(s, n, { fieldErrors: { requester: textsOf(req).email } })));
            return;
          }
          patch.requester = { email: str(b.requester).trim() };
        }
        if (Object.keys(patch).length > 0) {
          try {
            await service.updateTicket(n, patch, me(s));
          } catch (err) {
            if (!(err instanceof DeskbridgeError) || !['VALIDATION_FAILED', 'NOT_FOUND', 'FORBIDDEN'].includes(err.code) || err.problems.length === 0) throw err;
            res.status(statusOf[err.code] ?? 400).type('html').send(ticketPage(chrome(req, s, { nav: 'tickets', error: errorText(textsOf(req), err) }),
              await ticketPageData(s, n, { fieldErrors: problemsByField(err) })));
            return;
          }
        }
        res.redirect(303, `/console/tickets/${n}`);
      }));

      router.post('/tickets/:number/assign-me', form, signedIn(async (req, res, s) => {
        const n = ticketNumberParam(req.params.number);
        checkCsrf(s, req.body?.csrf);
        await service.updateTicket(n, { assignee: me(s) }, me(s));
        res.redirect(303, `/console/tickets/${n}`);
      }));

      router.post('/tickets/:number/entries', signedIn(async (req, res, s) => {
        const n = ticketNumberParam(req.params.number);
        const t = textsOf(req);
        let body;
        try {
          body = await readMultipart(req);
        } catch (err) {
          if (!(err instanceof DeskbridgeError)) throw err;
          res.status(statusOf[err.code] ?? 400).type('html').send(ticketPage(chrome(req, s, { nav: 'tickets', error: errorText(t, err) }), await ticketPageData(s, n)));
          return;
        }
        const f = body.fields;
        checkCsrf(s, f.csrf);
        const kind = f.kind === 'note' ? 'note' : 'reply';
        const draft = { kind, text: f.text ?? '', status: f.status ?? '', cc: f.cc ?? '', notify: f.notify ?? '' };
        // Someone else wrote since this page was shown: say so before sending (the draft stays).
        if (f.force !== '1') {
          const seen = Number(f.seen) || 0;
          const ticket = await service.getTicket(n);
          const newer = ticket.entries.filter((e) => e.createdAt.getTime() > seen && e.author.personId !== String(s.person._id) && e.kind !== 'system');
          if (newer.length > 0) {
            const who = newer[newer.length - 1]!.author.name || newer[newer.length - 1]!.author.email || '?';
            res.status(409).type('html').send(ticketPage(chrome(req, s, { nav: 'tickets' }), await ticketPageData(s, n, { draft: { ...draft, collisionWith: who } })));
            return;
          }
        }
        let refs: AttachmentRef[] = [];
        try {
          refs = await storeFiles(body.files);
          const { entry } = await service.addEntry(n, {
            kind, text: draft.text, author: me(s), source: 'console', attachments: refs,
            status: draft.status || undefined,
            cc: kind === 'reply' ? emailList(draft.cc) : undefined,
            mentions: kind === 'note' ? emailList(draft.notify).map((email) => ({ email })) : undefined,
          });
          res.redirect(303, `/console/tickets/${entry.ticketNumber}#entry-${entry.id}`);
        } catch (err) {
          await attachments.remove(refs.map((r) => r.id));
          if (!(err instanceof DeskbridgeError) || !['VALIDATION_FAILED', 'NOT_FOUND', 'FORBIDDEN'].includes(err.code)) throw err;
          res.status(statusOf[err.code] ?? 400).type('html').send(ticketPage(chrome(req, s, { nav: 'tickets', error: errorText(t, err) }), await ticketPageData(s, n, { draft })));
        }
      }));

      router.get('/tickets/:number/attachments/:id', signedIn(async (req, res) => {
        const n = ticketNumberParam(req.params.number);
        const ticket = await service.getTicket(n);
        const id = String(req.params.id);
        const listed = ticket.entries.some((e) => e.attachments.some((a) => a.id === id));
        const file = listed ? await attachments.get(id) : null;
        if (!file) throw new DeskbridgeError('NOT_FOUND', 'no such attachment');
        sendDownload(res, file);
      }));

      router.get('/tickets/:number/templates/:id', signedIn(async (req, res, s) => {
        const n = ticketNumberParam(req.params.number);
        res.json({ text: await service.renderTemplate(String(req.params.id), n, me(s)) });
      }));

      router.post('/tickets/:number/compose', form, signedIn(async (req, res, s) => {
        const n = ticketNumberParam(req.params.number);
        checkCsrf(s, req.body?.csrf);
        const action = str(req.body?.action) as ComposeAction;
        if (!['generate', 'rephrase', 'casual', 'formal'].includes(action)) throw new DeskbridgeError('VALIDATION_FAILED', 'action: unknown', [{ field: 'action', message: 'one of generate, rephrase, casual, formal' }]);
        try {
          // A draft only: it lands in the composer, nothing is sent.
          const { text } = await ctx.ai.compose({ ticketNumber: n, action, draft: str(req.body?.draft) || undefined, technician: me(s) });
          res.json({ text });
        } catch (err) {
          if (!(err instanceof DeskbridgeError)) throw err;
          res.status(statusOf[err.code] ?? 500).json({ error: { code: err.code, message: errorText(textsOf(req), err) } });
        }
      }));

      router.post('/tickets/:number/presence', form, signedIn(async (req, res, s) => {
        const n = ticketNumberParam(req.params.number);
        checkCsrf(s, req.body?.csrf ?? req.headers['x-csrf-token']);
        await service.markWorking(n, String(s.person._id), 'console');
        res.type('html').send(presenceBar(textsOf(req), await service.presence(n, String(s.person._id))).value);
      }));

      router.post('/tickets/:number/time', form, signedIn(async (req, res, s) => {
        const n = ticketNumberParam(req.params.number);
        checkCsrf(s, req.body?.csrf);
        const action = str(req.body?.action);
        const input = action === 'start' ? { start: true } : action === 'stop' ? { stop: true } : { minutes: Number(req.body?.minutes), note: str(req.body?.note) || undefined };
        await service.trackTime(n, input, me(s));
        res.redirect(303, `/console/tickets/${n}`);
      }));

      router.post('/tickets/:number/merge', form, signedIn(async (req, res, s) => {
        const n = ticketNumberParam(req.params.number);
        checkCsrf(s, req.body?.csrf);
        const into = Number(req.body?.into);
        if (!Number.isInteger(into) || into <= 0) throw new DeskbridgeError('VALIDATION_FAILED', 'into: a ticket number', [{ field: 'into', message: 'a ticket number' }]);
        await service.merge(n, into, me(s));
        res.redirect(303, `/console/tickets/${into}`);
      }));

      router.post('/tickets/:number/chat', form, signedIn(async (req, res, s) => {
        const n = ticketNumberParam(req.params.number);
        checkCsrf(s, req.body?.csrf);
        const channel = str(req.body?.channel);
        if (channel !== 'slack' && channel !== 'teams') throw new DeskbridgeError('VALIDATION_FAILED', 'channel: slack or teams', [{ field: 'channel', message: 'slack or teams' }]);
        await service.startChat(n, me(s), channel);
        res.redirect(303, `/console/tickets/${n}`);
      }));

      // --- admin
      router.get('/admin', adminOnly(async (req, res, s) => {
        res.type('html').send(settingsPage(chrome(req, s, { nav: 'admin', notice: req.query.saved ? textsOf(req).saved : undefined }), await service.settings.get()));
      }));

      router.post('/admin/settings', form, adminOnly(async (req, res, s) => {
        checkCsrf(s, req.body?.csrf);
        const lines = str(req.body?.customStatuses).split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
        const customStatuses = lines.map((l) => {
          const [name, category] = l.split('=').map((x) => x.trim());
          return { name: name ?? '', category: (category ?? '') as 'Open' };
        });
        try {
          await service.settings.update({
            defaultReplyType: str(req.body?.defaultReplyType) as 'reply' | 'note',
            customStatuses,
            aiMayReadNotes: req.body?.aiMayReadNotes === '1',
          });
        } catch (err) {
          if (!(err instanceof DeskbridgeError) || err.code !== 'VALIDATION_FAILED') throw err;
          res.status(400).type('html').send(settingsPage(chrome(req, s, { nav: 'admin', error: errorText(textsOf(req), err) }), await service.settings.get()));
          return;
        }
        res.redirect(303, '/console/admin?saved=1');
      }));

      router.get('/admin/templates', adminOnly(async (req, res, s) => {
        const list = await service.settings.listTemplates();
        const editing = req.query.edit ? await service.settings.getTemplate(str(req.query.edit)) : null;
        res.type('html').send(templatesPage(chrome(req, s, { nav: 'admin', notice: req.query.saved ? textsOf(req).saved : undefined }), list, { editing }));
      }));

      const saveTemplate = (id: string | null) => adminOnly(async (req, res, s) => {
        checkCsrf(s, req.body?.csrf);
        const name = str(req.body?.name);
        const body = str(req.body?.body);
        const list = await service.settings.listTemplates();
        const editing = id ? await service.settings.getTemplate(id) : null;
        if (req.body?.op === 'preview') {
          const v = viewerOf(s);
          const preview = renderTemplate(body, {
            requester: { name: 'Jane Doe', firstName: 'Jane', email: 'jane@example.com' },
            ticket: { number: 123, title: 'Printer on fire', status: 'Open' },
            technician: { name: v.name, firstName: firstName(v.name), email: v.email },
          });
          res.type('html').send(templatesPage(chrome(req, s, { nav: 'admin' }), list, { editing, preview, name, body }));
          return;
        }
        try {
          if (id) await service.settings.updateTemplate(id, { name, body });
          else await service.settings.createTemplate({ name, body });
        } catch (err) {
          if (!(err instanceof DeskbridgeError) || !['VALIDATION_FAILED', 'CONFLICT'].includes(err.code)) throw err;
          res.status(statusOf[err.code] ?? 400).type('html').send(templatesPage(chrome(req, s, { nav: 'admin', error: errorText(textsOf(req), err) }), list, { editing, name, body }));
          return;
        }
        res.redirect(303, '/console/admin/templates?saved=1');
      });
      router.post('/admin/templates', form, saveTemplate(null));
      router.post('/admin/templates/:id', form, (req, res, next) => saveTemplate(String(req.params.id))(req, res, next));
      router.post('/admin/templates/:id/delete', form, adminOnly(async (req, res, s) => {
        checkCsrf(s, req.body?.csrf);
        await service.settings.deleteTemplate(String(req.params.id));
        res.redirect(303, '/console/admin/templates?saved=1');
      }));

      router.get('/admin/people', adminOnly(async (req, res, s) => {
        res.type('html').send(peoplePage(chrome(req, s, { nav: 'admin', notice: req.query.saved ? textsOf(req).saved : undefined }), await service.people.list({ limit: 500 })));
      }));
      router.post('/admin/people', form, adminOnly(async (req, res, s) => {
        checkCsrf(s, req.body?.csrf);
        const role = str(req.body?.role);
        if (!['technician', 'admin', 'contact'].includes(role)) throw new DeskbridgeError('VALIDATION_FAILED', 'role: unknown', [{ field: 'role', message: 'technician, admin or contact' }]);
        try {
          await service.people.register({ email: str(req.body?.email).trim(), name: str(req.body?.name).trim() || undefined, roles: [role as 'technician'], customer: str(req.body?.customer).trim() || undefined });
        } catch (err) {
          if (!(err instanceof DeskbridgeError) || err.code !== 'VALIDATION_FAILED') throw err;
          res.status(400).type('html').send(peoplePage(chrome(req, s, { nav: 'admin', error: errorText(textsOf(req), err) }), await service.people.list({ limit: 500 })));
          return;
        }
        res.redirect(303, '/console/admin/people?saved=1');
      }));
      const changeRole = (change: 'make-admin' | 'remove-admin') => adminOnly(async (req, res, s) => {
        checkCsrf(s, req.body?.csrf);
        const id = String(req.params.id);
        if (id === String(s.person._id)) throw new DeskbridgeError('FORBIDDEN', 'you cannot change your own role');
        const person = await service.people.get(id);
        if (!person) throw new DeskbridgeError('NOT_FOUND', 'no such person');
        if (change === 'make-admin') await service.people.register({ email: person.primaryEmail, roles: ['admin'] });
        else await service.people.removeRole(id, 'admin');
        res.redirect(303, '/console/admin/people?saved=1');
      });
      // A customer admin is an end user who sees every ticket of their customer in the portal.
      router.post('/admin/people/:id/customer-admin', form, adminOnly(async (req, res, s) => {
        checkCsrf(s, req.body?.csrf);
        const person = await service.people.get(String(req.params.id));
        if (!person) throw new DeskbridgeError('NOT_FOUND', 'no such person');
        const on = req.body?.customerAdmin === '1';
        if (on && !((person.roles ?? []).includes('contact') && person.customer)) {
          throw new DeskbridgeError('VALIDATION_FAILED', 'customerAdmin: only a contact with a customer can be its admin', [{ field: 'customerAdmin', message: 'only a contact with a customer can be its admin' }]);
        }
        await service.people.register({ email: person.primaryEmail, roles: (person.roles ?? []) as never, customerAdmin: on });
        res.redirect(303, '/console/admin/people?saved=1');
      }));
      router.post('/admin/people/:id/make-admin', form, changeRole('make-admin'));
      router.post('/admin/people/:id/remove-admin', form, changeRole('remove-admin'));

      router.get('/admin/rules', adminOnly(async (req, res, s) => {
        const list = await rules.list();
        res.type('html').send(rulesPage(chrome(req, s, { nav: 'admin', notice: req.query.saved ? textsOf(req).saved : undefined }),
          list.map((r) => ({ id: r.id, name: r.name, enabled: r.enabled, trigger: describeTrigger(r.trigger as unknown as Record<string, unknown>) }))));
      }));
      router.post('/admin/rules/:id', form, adminOnly(async (req, res, s) => {
        checkCsrf(s, req.body?.csrf);
        await rules.patch(String(req.params.id), { enabled: req.body?.enabled === '1' });
        res.redirect(303, '/console/admin/rules?saved=1');
      }));

      // The rule editor: the form only offers the schema's choices; what is submitted goes through
      // the API's own ruleSchema and RuleStore (statuses, templates, technicians checked there).
      async function ruleChoices(): Promise<RuleFormChoices> {
        const [settings, technicians, templates] = await Promise.all([
          service.settings.get(), service.people.list({ role: 'technician', limit: 500 }), service.settings.listTemplates(),
        ]);
        return {
          triggerTypes: triggerSchema.options.map((o) => o.shape.type.value),
          entryAuthors: ['any', 'contact', 'technician'], entryKinds: ['reply', 'note', 'chat'],
          changeFields: CHANGE_FIELDS, conditionFields: CONDITION_FIELDS, conditionOps: CONDITION_OPS,
          actionTypes: ACTION_TYPES,
          statuses: allStatuses(settings.customStatuses).map((x) => x.name),
          priorities: PRIORITIES, ticketTypes: TICKET_TYPES,
          technicians: technicians.map((p) => ({ email: p.email, name: p.name })),
          templates: templates.map((x) => ({ id: x.id, name: x.name })),
        };
      }
      const draftOf = (r: RuleView): RuleDraft => ({
        name: r.name, enabled: r.enabled, trigger: { ...r.trigger }, conditions: r.conditions.map((x) => ({ ...x })), actions: r.actions.map((a) => ({ ...a })),
      });
      const runsOf = (id: string) => recentRuleRuns(ctx.db.models.Activity, id);

      router.get('/admin/rules/new', adminOnly(async (req, res, s) => {
        const draft: RuleDraft = { name: '', enabled: true, trigger: { type: 'ticket.created' }, conditions: [], actions: [] };
        res.type('html').send(ruleEditPage(chrome(req, s, { nav: 'admin' }), { id: null, builtin: false, draft, choices: await ruleChoices(), runs: null }));
      }));
      router.get('/admin/rules/:id/edit', adminOnly(async (req, res, s) => {
        const rule = await rules.get(String(req.params.id));
        res.type('html').send(ruleEditPage(chrome(req, s, { nav: 'admin', notice: req.query.saved ? textsOf(req).saved : undefined }),
          { id: rule.id, builtin: Boolean(rule.builtin), draft: draftOf(rule), choices: await ruleChoices(), runs: await runsOf(rule.id) }));
      }));
      const saveRule = (id: string | null) => adminOnly(async (req, res, s) => {
        checkCsrf(s, req.body?.csrf);
        const current = id ? await rules.get(id) : null;
        const { draft, input, formIndex } = ruleFromForm(req.body ?? {});
        if (req.body?.op === 'add-condition') {
          // Nothing is saved: the form comes back as typed with one more (empty) condition row.
          res.type('html').send(ruleEditPage(chrome(req, s, { nav: 'admin' }), {
            id: current?.id ?? null, builtin: Boolean(current?.builtin), draft, choices: await ruleChoices(), spareConditions: 1,
            runs: current ? await runsOf(current.id) : null,
          }));
          return;
        }
        let saved: RuleView;
        try {
          const parsed = ruleSchema.safeParse(input);
          if (!parsed.success) throw fromZod(parsed.error);
          saved = current ? await rules.replace(current.id, parsed.data) : await rules.create(parsed.data);
        } catch (err) {
          // A field the store refused (unknown person, not a technician) is bad input like any other.
          const fieldProblem = err instanceof DeskbridgeError && (err.code === 'NOT_FOUND' || err.code === 'FORBIDDEN') && err.problems.length > 0;
          if (!(err instanceof DeskbridgeError) || !(['VALIDATION_FAILED', 'CONFLICT'].includes(err.code) || fieldProblem)) throw err;
          const fieldErrors = ruleFieldErrors(err, formIndex);
          res.status(fieldProblem ? 400 : statusOf[err.code] ?? 400).type('html').send(ruleEditPage(chrome(req, s, { nav: 'admin', error: errorText(textsOf(req), err) }), {
            id: current?.id ?? null, builtin: Boolean(current?.builtin), draft, choices: await ruleChoices(), fieldErrors,
            runs: current ? await runsOf(current.id) : null,
          }));
          return;
        }
        res.redirect(303, `/console/admin/rules/${saved.id}/edit?saved=1`);
      });
      // POST /admin/rules/:id is the enable/disable toggle, so creating posts to the list itself.
      router.post('/admin/rules', form, saveRule(null));
      router.post('/admin/rules/:id/edit', form, (req, res, next) => saveRule(String(req.params.id))(req, res, next));
      router.post('/admin/rules/:id/delete', form, adminOnly(async (req, res, s) => {
        checkCsrf(s, req.body?.csrf);
        await rules.remove(String(req.params.id));
        res.redirect(303, '/console/admin/rules?saved=1');
      }));

      router.get('/admin/channels', adminOnly(async (req, res, s) => {
        res.type('html').send(channelsPage(chrome(req, s, { nav: 'admin' }), await channelRows(), await mailLog()));
      }));

      async function channelRows(): Promise<ChannelRow[]> {
        const Delivery = ctx.db.models.Delivery;
        const row = async (name: string, channel: string | null, configured: boolean, howTo: string): Promise<ChannelRow> => {
          if (!channel) return { name, configured, lastSuccess: null, lastError: null, howTo };
          const [ok, failed] = await Promise.all([
            Delivery.findOne({ channel, status: 'done' }).sort({ nextAttemptAt: -1 }).lean<{ updatedAt?: Date; nextAttemptAt: Date }>(),
            Delivery.findOne({ channel, status: 'failed' }).sort({ nextAttemptAt: -1 }).lean<{ updatedAt?: Date; nextAttemptAt: Date; lastError: string | null }>(),
          ]);
          return {
            name, configured, howTo,
            lastSuccess: ok ? ok.updatedAt ?? ok.nextAttemptAt : null,
            lastError: failed ? { at: failed.updatedAt ?? failed.nextAttemptAt, message: failed.lastError ?? '' } : null,
          };
        };
        return Promise.all([
          row('Slack', 'slack', Boolean(ctx.notifiers.get('slack')), 'SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_TICKETS_CHANNEL'),
          row('Microsoft Teams', 'teams', Boolean(ctx.notifiers.get('teams')), 'MicrosoftAppId, MicrosoftAppPassword, TEAMS_TICKETS_CHANNEL'),
          row('Email (out)', 'email', Boolean(config.SMTP_URL), 'SMTP_URL, MAIL_FROM (without SMTP_URL mail is written to DATA_DIR/outbox)'),
          row('Email (in)', null, config.INBOUND_SMTP_ENABLED || Boolean(config.IMAP_URL), 'INBOUND_SMTP_ENABLED, INBOUND_SMTP_PORT or IMAP_URL'),
          row('AI', null, ctx.ai.isConfigured(), 'OPENAI_API_KEY (OPENAI_BASE_URL, OPENAI_MODEL)'),
        ]);
      }

      async function mailLog(): Promise<MailLogRow[]> {
        // The email bridge's own log of what it did with each inbound message (read only).
        const Inbound = ctx.db.connection.models.MailInbound;
        if (!Inbound) return [];
        const rows = await Inbound.find({ status: { $in: ['ignored', 'rejected'] } }).sort({ at: -1 }).limit(100)
          .lean<{ at: Date; from: string | null; subject: string | null; status: string; reason: string | null }[]>();
        return rows.map((r) => ({ at: r.at, from: r.from ?? '', subject: r.subject ?? '', status: r.status, reason: r.reason ?? '' }));
      }

      ctx.http.use('/console', router);

      // `/`: technicians to the console, end users (a portal session) to the portal, anyone else a choice.
      ctx.http.get('/', page(async (req, res) => {
        res.setHeader('Content-Security-Policy', CSP);
        res.setHeader('Cache-Control', 'no-store');
        const s = await sessionOf(req);
        if (s && isTechnician(s.person)) {
          res.redirect(303, '/console');
          return;
        }
        if (cookiesOf(req)[PORTAL_COOKIE]) {
          res.redirect(303, '/portal');
          return;
        }
        res.type('html').send(welcomePage(chrome(req)));
      }));
    },
    async start(ctx: AppContext) {
      await runtimes.get(ctx)?.printSetupLinkIfNeeded();
    },
  };
}

const ACTION_TYPES = actionSchema.options.map((o) => o.shape.type.value);

const formValues = (body: Record<string, unknown>, key: string): string[] => {
  const v = body[key];
  return (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(String).filter(Boolean);
};

/**
 * The rule form's fields → the API's JSON shape (no rule logic: only which form fields make up
 * which object; ruleSchema and the RuleStore judge it). Empty condition/action rows are dropped;
 * formIndex maps a kept row back to its row in the form so a problem shows next to its field.
 */
function ruleFromForm(body: Record<string, unknown>): { draft: RuleDraft; input: unknown; formIndex: { conditions: number[]; actions: number[] } } {
  const f = (k: string) => str(body[k]).trim();
  const optional = (k: string) => f(k) || undefined;
  const type = f('trigger.type');
  const hours = f('trigger.hours') === '' ? undefined : Number(f('trigger.hours'));
  const trigger: Record<string, unknown> = { type };
  if (type === 'entry.added') Object.assign(trigger, { by: f('trigger.by') || 'any', kind: optional('trigger.kind') });
  if (type === 'field.changed') Object.assign(trigger, { field: f('trigger.field'), to: optional('trigger.to') });
  if (type === 'time.status') Object.assign(trigger, { status: f('trigger.status'), hours, sinceLastReply: body['trigger.sinceLastReply'] === '1' || undefined });
  if (type === 'time.noTechnicianReply') Object.assign(trigger, { hours });
  for (const k of Object.keys(trigger)) if (trigger[k] === undefined) delete trigger[k];

  const conditions: RuleDraft['conditions'] = [];
  const actions: Record<string, unknown>[] = [];
  const formIndex = { conditions: [] as number[], actions: [] as number[] };
  for (let i = 0; i < 40; i++) {
    const field = f(`conditions.${i}.field`);
    if (!field) continue;
    const op = f(`conditions.${i}.op`);
    const text = f(`conditions.${i}.value`);
    // "in" takes a list; "contains" a list when several values are given.
    const list = text.split(',').map((x) => x.trim()).filter(Boolean);
    const value = op === 'in' || (op === 'contains' && list.length > 1) ? list : text;
    conditions.push({ field, op, value });
    formIndex.conditions.push(i);
  }
  for (let i = 0; i < 20; i++) {
    const type = f(`actions.${i}.type`);
    if (!type) continue;
    const text = str(body[`actions.${i}.text`]).trim();
    const a: Record<string, unknown> = { type };
    if (type === 'setStatus') a.status = f(`actions.${i}.status`);
    if (type === 'setPriority') a.priority = f(`actions.${i}.priority`);
    if (type === 'setType') a.ticketType = f(`actions.${i}.ticketType`);
    if (type === 'setAssignee') a.assignee = f(`actions.${i}.assignee`) || null;
    if (type === 'addNote') a.text = text;
    if (type === 'notifyTechnicians') {
      const who = formValues(body, `actions.${i}.technicians`);
      Object.assign(a, who.length ? { technicians: who, text } : { text });
    }
    if (type === 'emailRequester') Object.assign(a, f(`actions.${i}.templateId`) ? { templateId: f(`actions.${i}.templateId`) } : { body: text });
    actions.push(a);
    formIndex.actions.push(i);
  }
  const draft: RuleDraft = { name: str(body.name), enabled: body.enabled === '1', trigger, conditions, actions };
  return { draft, input: { name: draft.name, enabled: draft.enabled, trigger, conditions, actions }, formIndex };
}

/** Problems (API paths: "actions.1.status", "actions[1].status", "conditions.0.value") → the form's field names. */
function ruleFieldErrors(e: DeskbridgeError, formIndex: { conditions: number[]; actions: number[] }): Record<string, string> {
  if (e.code === 'CONFLICT') return { name: e.message };
  const out: Record<string, string> = {};
  for (const p of e.problems.length ? e.problems : [{ field: '(form)', message: e.message }]) {
    const parts = p.field.replace(/\[(\d+)\]/g, '.$1').split('.');
    if ((parts[0] === 'conditions' || parts[0] === 'actions') && parts[1] !== undefined && /^\d+$/.test(parts[1])) {
      const row = formIndex[parts[0]][Number(parts[1])] ?? Number(parts[1]);
      // body/text/technicians all come from the row's one text box; a union's own error sits on its type.
      const leaf = parts[2] === 'body' ? 'text' : parts[2] === 'technicians' ? 'technicians' : parts[2] ?? 'type';
      out[`${parts[0]}.${row}.${leaf}`] ??= p.message;
    } else if (parts[0] === 'conditions' || parts[0] === 'actions') {
      out['(form)'] ??= `${parts[0]}: ${p.message}`;
    } else if (parts[0] === 'trigger') {
      out[`trigger.${parts[1] ?? 'type'}`] ??= p.message;
    } else if (parts[0] === 'name') {
      out.name ??= p.message;
    } else {
      out['(form)'] ??= `${p.field}: ${p.message}`;
    }
  }
  return out;
}

function describeTrigger(t: Record<string, unknown>): string {
  return Object.entries(t).map(([k, v]) => (k === 'type' ? String(v) : `${k}=${String(v)}`)).join(', ');
}

export const consoleModule = createConsoleModule();
