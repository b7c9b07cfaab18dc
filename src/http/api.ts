import { timingSafeEqual } from 'node:crypto';
import express, { type Request, type RequestHandler, type Router } from 'express';
import { z } from 'zod';
import { DeskbridgeError, invalid } from '../domain/errors.js';
import { IMPACTS, PRIORITIES, TICKET_TYPES } from '../domain/ticket-rules.js';
import type { TicketService } from '../tickets/service.js';
import type { PersonRef } from '../tickets/types.js';
import { fromZod } from './errors.js';

/*
 * The JSON API under /api/v1: validates input, calls one service function, renders the result.
 * Every string field is typed, so a MongoDB operator ({"$gt": ""}) never reaches a query.
 */

const email = z.string().trim().email('must be an email address').max(254);
const personRef = z.union([
  z.object({ email, name: z.string().trim().max(200).optional() }).strict(),
  z.object({ personId: z.string().regex(/^[a-f0-9]{24}$/, 'must be a person id') }).strict(),
]);
const shortText = (max: number) => z.string().max(max, `at most ${max} characters`);

const createTicket = z.object({
  title: z.string().trim().min(1, 'must not be empty').max(500),
  description: shortText(1_000_000).default(''),
  requester: z.object({ email, name: z.string().trim().max(200).optional() }).strict(),
  priority: z.enum(PRIORITIES).optional(),
  type: z.enum(TICKET_TYPES).optional(),
  impact: z.enum(IMPACTS).nullable().optional(),
  productFamily: shortText(200).nullable().optional(),
  customer: shortText(200).nullable().optional(),
  status: shortText(40).optional(),
  assignee: personRef.nullable().optional(),
  cc: z.array(email).max(50).optional(),
  createdBy: personRef.optional(),
}).strict();

const addEntry = z.object({
  kind: z.enum(['reply', 'note', 'chat']),
  text: shortText(1_000_000),
  author: personRef,
  status: shortText(40).optional(),
  cc: z.array(email).max(50).optional(),
  mentions: z.array(personRef).max(50).optional(),
}).strict();

const patchTicket = z.object({
  status: shortText(40).optional(),
  priority: z.enum(PRIORITIES).optional(),
  type: z.enum(TICKET_TYPES).optional(),
  impact: z.enum(IMPACTS).nullable().optional(),
  productFamily: shortText(200).nullable().optional(),
  customer: shortText(200).nullable().optional(),
  title: z.string().trim().min(1, 'must not be empty').max(500).optional(),
  assignee: personRef.nullable().optional(),
  requester: personRef.optional(),
  actor: personRef.optional(),
}).strict().refine((p) => Object.keys(p).some((k) => k !== 'actor'), { message: 'nothing to change' });

const slackIdentity = z.object({
  userId: z.string().regex(/^[UW][A-Z0-9]{2,20}$/, 'must be a Slack user id (U… or W…)'),
  teamId: z.string().regex(/^[TE][A-Z0-9]{2,20}$/, 'must be a Slack workspace id (T…)').nullable().default(null),
}).strict();
const teamsIdentity = z.object({
  userId: z.string().regex(/^29:[\w\-.:=+/]{1,200}$/, 'must be a Teams user id (29:…)'),
  aadObjectId: z.string().uuid('must be an Entra object id (a GUID)').nullable().default(null),
}).strict();

const merge = z.object({ into: z.coerce.number().int().positive(), actor: personRef.optional() }).strict();
const time = z.object({
  minutes: z.number().positive().max(10080).optional(),
  start: z.literal(true).optional(),
  stop: z.literal(true).optional(),
  note: shortText(1000).optional(),
  author: personRef,
}).strict();
const person = z.object({
  email,
  name: z.string().trim().max(200).optional(),
  roles: z.array(z.enum(['technician', 'contact'])).min(1).max(2),
  customer: shortText(200).nullable().optional(),
  customerAdmin: z.boolean().optional(),
  avatarUrl: z.string().url().max(2000).nullable().optional(),
}).strict();
const settings = z.object({
  defaultReplyType: z.enum(['reply', 'note']).optional(),
  customStatuses: z.array(z.object({ name: z.string(), category: z.string() }).strict()).max(50).optional(),
  aiMayReadNotes: z.boolean().optional(),
  // Reserved keys are refused here: zod would silently drop a "__proto__" key instead.
  extra: z.record(z.string().regex(/^[A-Za-z0-9_]+$/, 'letters, digits and _').refine((k) => !['__proto__', 'constructor', 'prototype'].includes(k), 'a reserved name'), z.unknown()).optional(),
}).strict();
const template = z.object({ name: z.string(), body: z.string() }).strict();
const readBody = z.object({ author: personRef }).strict();
const listQuery = z.object({
  status: shortText(40).optional(),
  assignee: shortText(254).optional(),
  requester: shortText(254).optional(),
  customer: shortText(200).optional(),
  cursor: shortText(100).optional(),
  limit: z.coerce.number().int().min(1).max(100).optional(),
}).strict();

const viewQuery = z.object({ view: z.enum(['contact', 'technician']).optional() }).strict();
const peopleQuery = z.object({ role: z.enum(['technician', 'contact']).optional(), q: z.string().max(1000).optional() }).strict();

const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** The first key at any depth that is an operator ($...) or a prototype name. */
function operatorKey(value: unknown, depth = 0): string | null {
  if (depth > 32 || !value || typeof value !== 'object') return null;
  for (const [k, v] of Object.entries(value)) {
    if (k.startsWith('$') || RESERVED_KEYS.has(k)) return k;
    const inner = operatorKey(v, depth + 1);
    if (inner) return `${k}.${inner}`;
  }
  return null;
}
/** No JSON body may carry a query operator or a prototype key as a key, whatever the route. */
const refuseOperatorKeys: RequestHandler = (req, _res, next) => {
  const key = operatorKey(req.body);
  if (key) return next(invalid(key, 'keys may not start with $ or be __proto__/constructor/prototype'));
  next();
};

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) throw fromZod(r.error);
  return r.data;
}

function ticketNumber(req: Request): number {
  const raw = String(req.params.number ?? '');
  const n = /^\d{1,12}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new DeskbridgeError('NOT_FOUND', `ticket ${raw} not found`);
  return n;
}

export function bearerAuth(token: string | undefined): RequestHandler {
  const expected = token ? Buffer.from(token) : null;
  return (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7).trim() : '');
    if (!expected || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      res.status(401).json({ error: { code: 'UNAUTHORIZED', message: 'missing or wrong bearer token (DESKBRIDGE_API_TOKEN)', fields: [] } });
      return;
    }
    next();
  };
}

export function apiRouter(service: TicketService, opts: { token?: string; extend?: (router: Router) => void }): Router {
  const r = express.Router();
  r.use(bearerAuth(opts.token));
  r.use(express.json({ limit: '2mb', strict: true }));
  r.use(refuseOperatorKeys);

  r.post('/tickets', async (req, res) => {
    const body = parse(createTicket, req.body);
    const t = await service.createTicket({ ...body, source: 'api' } as never);
    res.status(201).json(t);
  });

  r.get('/tickets', async (req, res) => {
    const q = parse(listQuery, req.query);
    res.json(await service.listTickets(q));
  });

  r.get('/tickets/:number', async (req, res) => {
    const n = ticketNumber(req);
    const { view } = parse(viewQuery, req.query);
    res.json(view === 'contact' ? await service.getContactView(n) : await service.getTicket(n));
  });

  r.post('/tickets/:number/entries', async (req, res) => {
    const n = ticketNumber(req);
    const body = parse(addEntry, req.body);
    const { ticket, entry } = await service.addEntry(n, { ...body, author: body.author as PersonRef, mentions: body.mentions as PersonRef[] | undefined, source: 'api' });
    res.status(201).json({ entry, ticket: { number: ticket.number, status: ticket.status, activityStatus: ticket.activityStatus } });
  });

  r.patch('/tickets/:number', async (req, res) => {
    const n = ticketNumber(req);
    const { actor, ...patch } = parse(patchTicket, req.body);
    res.json(await service.updateTicket(n, patch as never, actor as PersonRef | undefined));
  });

  r.post('/tickets/:number/merge', async (req, res) => {
    const n = ticketNumber(req);
    const body = parse(merge, req.body);
    res.json(await service.merge(n, body.into, body.actor as PersonRef | undefined));
  });

  r.post('/tickets/:number/time', async (req, res) => {
    const n = ticketNumber(req);
    const { author, ...rest } = parse(time, req.body);
    const { ticket, minutesAdded } = await service.trackTime(n, rest, author as PersonRef);
    res.json({ minutesAdded, timeSpentMinutes: ticket.timeSpentMinutes, runningTimers: ticket.runningTimers });
  });

  r.post('/tickets/:number/read', async (req, res) => {
    const n = ticketNumber(req);
    const { author } = parse(readBody, req.body);
    await service.markRead(n, author as PersonRef);
    res.status(204).end();
  });

  r.get('/tickets/:number/activity', async (req, res) => {
    res.json({ items: await service.getActivity(ticketNumber(req)) });
  });

  r.get('/people', async (req, res) => {
    const { role, q } = parse(peopleQuery, req.query);
    res.json({ items: await service.people.list({ role, q: q?.slice(0, 100) }) });
  });

  r.post('/people', async (req, res) => {
    const body = parse(person, req.body);
    const { person: p, created } = await service.people.register(body);
    res.status(created ? 201 : 200).json(p);
  });

  // An admin links a person to their Slack/Teams account (e.g. a Teams member without an email).
  r.put('/people/:id/identities/:platform', async (req, res) => {
    const platform = String(req.params.platform);
    if (platform !== 'slack' && platform !== 'teams') throw invalid('platform', 'must be slack or teams');
    const body = platform === 'slack' ? parse(slackIdentity, req.body) : parse(teamsIdentity, req.body);
    res.json(await service.people.linkIdentityByAdmin(String(req.params.id), platform, body));
  });

  r.get('/settings', async (_req, res) => res.json(await service.settings.get()));
  r.put('/settings', async (req, res) => res.json(await service.settings.update(parse(settings, req.body) as never)));

  r.get('/templates', async (_req, res) => res.json({ items: await service.settings.listTemplates() }));
  r.post('/templates', async (req, res) => res.status(201).json(await service.settings.createTemplate(parse(template, req.body))));
  r.get('/templates/:id', async (req, res) => res.json(await service.settings.getTemplate(String(req.params.id))));
  r.put('/templates/:id', async (req, res) => res.json(await service.settings.updateTemplate(String(req.params.id), parse(template, req.body))));
  r.delete('/templates/:id', async (req, res) => {
    await service.settings.deleteTemplate(String(req.params.id));
    res.status(204).end();
  });
  r.post('/templates/:id/render', async (req, res) => {
    const body = parse(z.object({ ticket: z.number().int().positive(), technician: personRef }).strict(), req.body);
    res.json({ text: await service.renderTemplate(String(req.params.id), body.ticket, body.technician as PersonRef) });
  });

  opts.extend?.(r);
  return r;
}
