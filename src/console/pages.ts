import { ACTIVITY_STATUSES, IMPACTS, PRIORITIES, TICKET_TYPES, type ResolvedStatus } from '../domain/ticket-rules.js';
import type { PresenceView } from '../domain/presence.js';
import { Safe, formatUtcDate, html, sanitizedEmailHtml } from '../portal/html.js';
import type { PersonView } from '../tickets/people.js';
import type { PresenceMemberView } from '../tickets/presence.js';
import type { Settings, TemplateView } from '../tickets/settings.js';
import type { ActivityView, EntryView, TicketSummary, TicketView } from '../tickets/types.js';
import { fill, type Texts } from './i18n.js';

/** The console's pages: pure functions of their data. Every form carries the CSRF token. */

export interface Viewer {
  id: string;
  name: string;
  email: string;
  admin: boolean;
  csrf: string;
}

export interface Chrome {
  t: Texts;
  viewer?: Viewer;
  /** Which navigation item is current. */
  nav?: 'tickets' | 'admin';
  notice?: string;
  error?: string;
}

export const when = (t: Texts, d: Date) => formatUtcDate(t.lang, d);

const csrfField = (v: Viewer) => html`<input type="hidden" name="csrf" value="${v.csrf}">`;
/** Markup written here (attributes), never user text. */
const raw = (s: string) => new Safe(s);

export function layout(c: Chrome, title: string, body: Safe, opts: { page?: string; data?: Record<string, string> } = {}): string {
  const { t, viewer } = c;
  const data = Object.entries(opts.data ?? {}).map(([k, v]) => html` data-${k}="${v}"`);
  return html`<!doctype html>
<html lang="${t.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ${t.title}</title>
<link rel="stylesheet" href="/console/static/console.css">
<script src="/console/static/console.js" defer></script>
</head>
<body data-page="${opts.page ?? ''}"${data}>
<a class="skip" href="#main">${t.skip}</a>
<header class="bar">
  <a class="brand" href="/console">deskbridge</a>
  ${viewer ? html`<nav aria-label="${t.title}">
    <a href="/console"${c.nav === 'tickets' ? raw(' aria-current="page"') : ''}>${t.tickets}</a>
    ${viewer.admin ? html`<a href="/console/admin"${c.nav === 'admin' ? raw(' aria-current="page"') : ''}>${t.admin}</a>` : ''}
  </nav>
  <span class="who">${fill(t.signedInAs, { name: viewer.name })}</span>
  <form method="post" action="/console/signout" class="inline">${csrfField(viewer)}<button type="submit" class="link">${t.signOut}</button></form>` : ''}
</header>
<main id="main">
${c.notice ? html`<p class="notice" role="status">${c.notice}</p>` : ''}
${c.error ? html`<p class="error" role="alert">${c.error}</p>` : ''}
${body}
</main>
</body>
</html>`.value;
}

// ------------------------------------------------------------------ sign-in, setup, refusals

export function signinPage(c: Chrome, opts: { csrf: string; email?: string; sso?: boolean }): string {
  const { t } = c;
  return layout(c, t.signinTitle, html`
<h1>${t.signinTitle}</h1>
<p>${t.signinIntro}</p>
<form method="post" action="/console/signin" class="stack" id="signin">
  <input type="hidden" name="csrf" value="${opts.csrf}">
  <label>${t.email}<input type="email" name="email" required autocomplete="email" value="${opts.email ?? ''}"></label>
  <button type="submit">${t.sendLink}</button>
</form>
${opts.sso ? html`<p class="or">${t.or}</p><p><a class="button secondary" id="sso" href="/console/sso">${t.sso}</a></p>` : ''}`);
}

export function confirmPage(c: Chrome, opts: { csrf: string; token: string; action: string; title: string; intro: string }): string {
  return layout(c, opts.title, html`
<h1>${opts.title}</h1>
<p>${opts.intro}</p>
<form method="post" action="${opts.action}" class="stack">
  <input type="hidden" name="csrf" value="${opts.csrf}">
  <input type="hidden" name="token" value="${opts.token}">
  <button type="submit" id="continue">${c.t.continue}</button>
</form>`);
}

export function setupPage(c: Chrome, opts: { csrf: string; token: string; email?: string; name?: string }): string {
  const { t } = c;
  return layout(c, t.setupTitle, html`
<h1>${t.setupTitle}</h1>
<p>${t.setupIntro}</p>
<form method="post" action="/console/setup" class="stack" id="setup">
  <input type="hidden" name="csrf" value="${opts.csrf}">
  <input type="hidden" name="token" value="${opts.token}">
  <label>${t.name}<input type="text" name="name" autocomplete="name" maxlength="200" value="${opts.name ?? ''}"></label>
  <label>${t.email}<input type="email" name="email" required autocomplete="email" value="${opts.email ?? ''}"></label>
  <button type="submit">${t.createAdmin}</button>
</form>`);
}

export function messagePage(c: Chrome, title: string, message: string, link?: { href: string; label: string; id?: string }): string {
  return layout(c, title, html`
<h1>${title}</h1>
<p class="error" role="alert">${message}</p>
${link ? html`<p><a href="${link.href}" id="${link.id ?? 'message-link'}">${link.label}</a></p>` : ''}`);
}

export function contactRefusedPage(c: Chrome): string {
  const { t } = c;
  return messagePage(c, t.contactRefusedTitle, t.contactRefused, { href: '/portal', label: t.toPortal, id: 'to-portal' });
}

export function welcomePage(c: Chrome): string {
  const { t } = c;
  return layout(c, t.welcome, html`
<h1>${t.welcome}</h1>
<p>${t.welcomeIntro}</p>
<ul class="choices">
  <li><a class="button" href="/portal" id="to-portal">${t.toPortal}</a></li>
  <li><a class="button secondary" href="/console/signin" id="to-console">${t.toConsole}</a></li>
</ul>`);
}

// ------------------------------------------------------------------ ticket list

export interface ListQuery {
  status: string;
  assignee: string; // '' anyone | 'me' | 'none'
  priority: string;
  customer: string;
  activity: string;
  q: string;
  sort: 'updated' | 'created' | 'priority';
  cursor: string;
}

export const listHref = (q: ListQuery, over: Partial<ListQuery> = {}) => {
  const merged = { ...q, ...over };
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(merged)) if (v && !(k === 'sort' && v === 'updated')) p.set(k, v);
  const s = p.toString();
  return s ? `/console?${s}` : '/console';
};

const option = (value: string, label: string, current: string) => html`<option value="${value}"${value === current ? raw(' selected') : ''}>${label}</option>`;

function filterForm(c: Chrome, q: ListQuery, statuses: ResolvedStatus[]): Safe {
  const { t } = c;
  return html`
<form method="get" action="/console" class="filters" id="filters" role="search" aria-label="${t.filters}">
  <label>${t.search}<input type="search" name="q" value="${q.q}"></label>
  <label>${t.status}<select name="status">${option('', t.any, q.status)}${statuses.map((s) => option(s.name, s.name, q.status))}</select></label>
  <label>${t.assignee}<select name="assignee">${option('', t.anyone, q.assignee)}${option('me', t.me, q.assignee)}${option('none', t.unassigned, q.assignee)}</select></label>
  <label>${t.priority}<select name="priority">${option('', t.any, q.priority)}${PRIORITIES.map((p) => option(p, p, q.priority))}</select></label>
  <label>${t.customer}<input type="text" name="customer" value="${q.customer}"></label>
  <label>${t.activityStatus}<select name="activity">${option('', t.any, q.activity)}${ACTIVITY_STATUSES.map((a) => option(a, a, q.activity))}</select></label>
  <label>${t.sort}<select name="sort">${option('updated', t.sortUpdated, q.sort)}${option('created', t.sortCreated, q.sort)}${option('priority', t.sortPriority, q.sort)}</select></label>
  <div class="actions"><button type="submit">${t.apply}</button> <a href="/console">${t.reset}</a></div>
</form>`;
}

export function ticketRows(c: Chrome, items: TicketSummary[]): Safe {
  const { t } = c;
  return html`${items.map((s) => html`
<tr data-number="${s.number}" data-updated="${s.updatedAt.getTime()}" class="row">
  <td data-label="${t.number}" class="num">#${s.number}</td>
  <td data-label="${t.subject}" class="title">
    <a href="/console/tickets/${s.number}" aria-describedby="summary-${s.number}">${s.title}</a>
    <div class="summary" role="tooltip" id="summary-${s.number}">
      <strong>${t.priority}: ${s.priority}</strong>
      <span>${t.latest}: ${s.last ? html`${s.last.author.name}: ${s.last.excerpt}` : t.noComment}</span>
    </div>
  </td>
  <td data-label="${t.requester}">${s.requester?.name ?? ''}</td>
  <td data-label="${t.customer}">${s.customer ?? ''}</td>
  <td data-label="${t.status}"><span class="pill">${s.status}</span></td>
  <td data-label="${t.priority}" class="prio-${s.priority.toLowerCase()}">${s.priority}</td>
  <td data-label="${t.assignee}">${s.assignee?.name ?? t.unassigned}</td>
  <td data-label="${t.activityStatus}">${s.activityStatus}</td>
  <td data-label="${t.sentiment}">${s.sentimentLabel ?? ''}</td>
  <td data-label="${t.lastUpdate}"><time datetime="${s.updatedAt.toISOString()}">${when(t, s.updatedAt)}</time></td>
</tr>`)}`;
}

export function listPage(c: Chrome, q: ListQuery, items: TicketSummary[], next: string | null, statuses: ResolvedStatus[]): string {
  const { t } = c;
  return layout(c, t.tickets, html`
<h1>${t.tickets}</h1>
${filterForm(c, q, statuses)}
<div id="live" class="live" hidden><button type="button" id="live-show"></button></div>
<table class="tickets" id="tickets">
  <caption class="sr-only">${t.tickets}</caption>
  <thead><tr>
    <th scope="col">${t.number}</th><th scope="col">${t.subject}</th><th scope="col">${t.requester}</th><th scope="col">${t.customer}</th>
    <th scope="col">${t.status}</th><th scope="col">${t.priority}</th><th scope="col">${t.assignee}</th><th scope="col">${t.activityStatus}</th>
    <th scope="col">${t.sentiment}</th><th scope="col">${t.lastUpdate}</th>
  </tr></thead>
  <tbody id="rows">${ticketRows(c, items)}</tbody>
</table>
${items.length === 0 ? html`<p id="empty">${t.noTickets}</p>` : ''}
<p class="paging">${q.cursor ? html`<a href="${listHref(q, { cursor: '' })}">${t.firstPage}</a> ` : ''}${next ? html`<a id="next" href="${listHref(q, { cursor: next })}">${t.nextPage}</a>` : ''}</p>`,
  { page: 'list', data: { 'live-text': t.newUpdated } });
}

// ------------------------------------------------------------------ ticket page

export interface TicketPageData {
  ticket: TicketView;
  statuses: ResolvedStatus[];
  technicians: PersonView[];
  /** End users offered for CC (type-ahead). */
  contacts: PersonView[];
  templates: TemplateView[];
  settings: Settings;
  presence: PresenceView<PresenceMemberView>;
  activity: ActivityView[] | null;
  aiConfigured: boolean;
  chatChannels: ('slack' | 'teams')[];
  presencePollMs: number;
  /** A draft to show again (collision, error) and whether to offer "send anyway". */
  draft?: { kind: string; text: string; status: string; cc: string; notify: string; collisionWith?: string };
  fieldErrors?: Record<string, string>;
}

export function presenceBar(t: Texts, p: PresenceView<PresenceMemberView>): Safe {
  const avatar = (m: PresenceMemberView, me = false) => html`<li class="avatar${me ? ' me' : ''}" title="${m.name}${me ? ` (${t.you})` : ''}"><span aria-hidden="true">${initials(m.name)}</span><span class="sr-only">${m.name}${me ? ` (${t.you})` : ''}</span></li>`;
  return html`<span class="presence-label">${t.working}:</span>
<ul class="avatars">
  ${p.me ? avatar(p.me, true) : ''}${p.me && (p.shown.length > 0 || p.more.length > 0) ? html`<li class="divider" aria-hidden="true"></li>` : ''}
  ${p.shown.map((m) => avatar(m))}
  ${p.more.length ? html`<li class="more"><details><summary aria-label="${p.more.length} more">${fill(t.more, { n: p.more.length })}</summary><ul>${p.more.map((m) => html`<li>${m.name}</li>`)}</ul></details></li>` : ''}
</ul>`;
}

const initials = (name: string) => name.split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0]!.toUpperCase()).join('') || '?';

function entryBody(e: EntryView): Safe {
  if (e.html && e.source === 'email') return html`<div class="body html">${sanitizedEmailHtml(e.html)}</div>`;
  return html`<div class="body text">${e.text}</div>`;
}

function entryView(c: Chrome, n: number, e: EntryView): Safe {
  const { t } = c;
  const note = e.visibility === 'internal';
  return html`
<article class="entry ${note ? 'note' : e.kind} ${e.author.kind}" id="entry-${e.id}" data-created="${e.createdAt.getTime()}">
  <header>
    <strong>${e.author.name || e.author.email || t.system}</strong>
    ${note ? html`<span class="lock" role="img" aria-label="${t.internal}">🔒</span> <span class="tag">${t.internal}</span>` : html`<span class="tag">${e.kind === 'system' ? t.system : t.emailed} · ${e.source}</span>`}
    <time datetime="${e.createdAt.toISOString()}">${when(t, e.createdAt)}</time>
  </header>
  ${entryBody(e)}
  ${e.attachments.length ? html`<ul class="files">${e.attachments.map((a) => html`<li><a href="/console/tickets/${n}/attachments/${a.id}" download>${a.filename}</a> <span class="muted">(${Math.ceil(a.size / 1024)} KB)</span></li>`)}</ul>` : ''}
</article>`;
}

function activityView(c: Chrome, items: ActivityView[]): Safe {
  const { t } = c;
  const show = (v: unknown) => (v === null || v === undefined || v === '' ? t.none : typeof v === 'object' ? JSON.stringify(v) : String(v));
  if (items.length === 0) return html`<p>${t.noActivity}</p>`;
  return html`<ol class="activity" id="activity-log">${items.map((a) => html`
<li><time datetime="${a.at.toISOString()}">${when(t, a.at)}</time> <strong>${a.actor.name || t.system}</strong>
  <span class="action">${a.action.replace(/_/g, ' ')}</span>${a.field ? html` <em>${a.field}</em>: ${show(a.from)} → ${show(a.to)}` : ''}</li>`)}</ol>`;
}

export function ticketPage(c: Chrome, d: TicketPageData): string {
  const { t } = c;
  const v = c.viewer!;
  const tk = d.ticket;
  const err = (f: string) => (d.fieldErrors?.[f] ? html`<span class="field-error" id="err-${f}" role="alert">${d.fieldErrors[f]}</span>` : '');
  const described = (f: string) => (d.fieldErrors?.[f] ? raw(` aria-invalid="true" aria-describedby="err-${f}"`) : '');
  const lastSeen = tk.entries.reduce((m, e) => Math.max(m, e.createdAt.getTime()), 0);
  const draft = d.draft ?? { kind: d.settings.defaultReplyType, text: '', status: '', cc: '', notify: '' };
  const tab = d.activity ? 'activity' : 'conversation';
  const myTimer = tk.runningTimers.find((x) => x.technicianId === v.id);

  const details = html`
<form method="post" action="/console/tickets/${tk.number}/fields" class="details" id="details" aria-label="${t.details}">
  ${csrfField(v)}
  <label class="wide">${t.subject}<input type="text" name="title" value="${tk.title}" maxlength="500" required${described('title')}>${err('title')}</label>
  <label>${t.status}<select name="status" data-autosubmit>${d.statuses.map((s) => option(s.name, s.name, tk.status))}</select>${err('status')}</label>
  <label>${t.assignee}<select name="assignee" data-autosubmit>${option('', t.unassigned, tk.assignee?.id ?? '')}${d.technicians.map((p) => option(p.id, p.name || p.email, tk.assignee?.id ?? ''))}</select>${err('assignee')}</label>
  <label>${t.priority}<select name="priority" data-autosubmit>${PRIORITIES.map((p) => option(p, p, tk.priority))}</select></label>
  <label>${t.type}<select name="type" data-autosubmit>${TICKET_TYPES.map((p) => option(p, p, tk.type))}</select></label>
  <label>${t.impact}<select name="impact" data-autosubmit>${option('', t.none, tk.impact ?? '')}${IMPACTS.map((p) => option(p, p, tk.impact ?? ''))}</select></label>
  <label>${t.productFamily}<input type="text" name="productFamily" value="${tk.productFamily ?? ''}" maxlength="200"${described('productFamily')}>${err('productFamily')}</label>
  <label>${t.requester}<input type="email" name="requester" value="${tk.requester?.email ?? ''}" required${described('requester')}>${err('requester')}</label>
  <label>${t.customer}<input type="text" name="customer" value="${tk.customer ?? ''}" maxlength="200"${described('customer')}>${err('customer')}</label>
  <div class="actions"><button type="submit">${t.save}</button></div>
</form>
${tk.assignee?.id === v.id ? '' : html`<form method="post" action="/console/tickets/${tk.number}/assign-me" class="inline" id="assign-me">${csrfField(v)}<button type="submit" class="secondary">${t.assignMe}</button></form>`}`;

  const composer = tk.mergedInto ? '' : html`
<section aria-labelledby="composer-h" class="composer">
<h2 id="composer-h">${t.composer}</h2>
${draft.collisionWith ? html`<p class="warning" role="alert" id="collision">${fill(t.collision, { name: draft.collisionWith })}</p>` : ''}
<p class="warning" role="alert" id="collision-live" hidden>${t.collisionLive}</p>
<form method="post" action="/console/tickets/${tk.number}/entries" enctype="multipart/form-data" class="stack" id="composer">
  ${csrfField(v)}
  <input type="hidden" name="seen" value="${draft.collisionWith ? Date.now() : lastSeen}">
  ${draft.collisionWith ? html`<input type="hidden" name="force" value="1">` : ''}
  <fieldset class="kind"><legend>${t.kind}</legend>
    <label class="radio"><input type="radio" name="kind" value="reply"${draft.kind === 'reply' ? raw(' checked') : ''}> ${t.reply}</label>
    <label class="radio"><input type="radio" name="kind" value="note"${draft.kind === 'note' ? raw(' checked') : ''}> ${t.note}</label>
  </fieldset>
  ${d.templates.length ? html`<div class="row-inline"><label>${t.template}<select id="template" data-ticket="${tk.number}">${d.templates.map((x) => html`<option value="${x.id}">${x.name}</option>`)}</select></label><button type="button" id="insert-template" class="secondary">${t.insert}</button></div>` : ''}
  <label>${t.text}<textarea name="text" rows="6" required id="text">${draft.text}</textarea></label>
  ${d.aiConfigured ? html`<div class="ai" role="group" aria-label="${t.ai}"><span>${t.ai}:</span>
    <button type="button" class="secondary" data-ai="generate">${t.aiGenerate}</button>
    <button type="button" class="secondary" data-ai="rephrase">${t.aiRephrase}</button>
    <button type="button" class="secondary" data-ai="casual">${t.aiCasual}</button>
    <button type="button" class="secondary" data-ai="formal">${t.aiFormal}</button>
    <span id="ai-status" class="field-error" role="status"></span></div>` : ''}
  <label>${t.cc}<input type="text" name="cc" value="${draft.cc}" list="people-list" autocomplete="off"></label>
  <label>${t.notify}<input type="text" name="notify" value="${draft.notify}" list="technician-list" autocomplete="off"></label>
  <datalist id="technician-list">${d.technicians.map((p) => html`<option value="${p.email}">${p.name}</option>`)}</datalist>
  <datalist id="people-list">${[...d.technicians, ...d.contacts].map((p) => html`<option value="${p.email}">${p.name}</option>`)}</datalist>
  <label>${t.attachments}<input type="file" name="files" multiple></label>
  <div class="row-inline">
    <label>${t.statusOnSend}<select name="status">${option('', t.keep, draft.status)}${d.statuses.map((s) => option(s.name, s.name, draft.status))}</select></label>
    <button type="submit" id="send">${draft.collisionWith ? t.sendAnyway : t.send}</button>
  </div>
</form>
</section>`;

  const actions = html`
<section class="side-actions" aria-label="${t.time}">
  <h2>${t.time}</h2>
  <p id="time-spent">${fill(t.timeSpent, { minutes: tk.timeSpentMinutes })}${myTimer ? html` · <span id="timer-running">${fill(t.timerRunning, { at: when(t, myTimer.startedAt) })}</span>` : ''}</p>
  <form method="post" action="/console/tickets/${tk.number}/time" class="inline" id="timer">${csrfField(v)}
    <input type="hidden" name="action" value="${myTimer ? 'stop' : 'start'}"><button type="submit" class="secondary">${myTimer ? t.stopTimer : t.startTimer}</button></form>
  <form method="post" action="/console/tickets/${tk.number}/time" class="row-inline" id="log-time">${csrfField(v)}
    <input type="hidden" name="action" value="log">
    <label>${t.logMinutes}<input type="number" name="minutes" min="1" max="1440" required></label>
    <label>${t.timeNote}<input type="text" name="note" maxlength="500"></label>
    <button type="submit" class="secondary">${t.logTime}</button></form>
  ${tk.mergedInto ? '' : html`<h2>${t.merge}</h2>
  <form method="post" action="/console/tickets/${tk.number}/merge" class="row-inline" id="merge">${csrfField(v)}
    <label>${t.mergeInto}<input type="number" name="into" min="1" required></label><button type="submit" class="secondary">${t.merge}</button></form>`}
  ${d.chatChannels.length ? html`<h2>${t.chat}</h2>
  <form method="post" action="/console/tickets/${tk.number}/chat" class="row-inline" id="chat">${csrfField(v)}
    <label>${t.chatVia}<select name="channel">${d.chatChannels.map((ch) => html`<option value="${ch}">${ch === 'slack' ? 'Slack' : 'Microsoft Teams'}</option>`)}</select></label>
    <button type="submit" class="secondary">${t.chat}</button></form>` : ''}
</section>`;

  return layout(c, `#${tk.number} ${tk.title}`, html`
<p><a href="/console">← ${t.back}</a></p>
<div class="ticket-head">
  <h1><span class="num">#${tk.number}</span> <span id="ticket-title">${tk.title}</span></h1>
  <div class="presence" id="presence" aria-live="polite">${presenceBar(t, d.presence)}</div>
</div>
<p class="notice" role="status" id="changed-live" hidden>${t.changedLive} <a href="/console/tickets/${tk.number}${tab === 'activity' ? '?tab=activity' : ''}">${t.reload}</a></p>
${tk.mergedInto ? html`<p class="notice">${fill(t.mergedInto, { n: tk.mergedInto })} <a href="/console/tickets/${tk.mergedInto}">#${tk.mergedInto}</a></p>` : ''}
<div class="ticket-grid">
<div class="main-col">
${details}
<nav class="tabs" aria-label="${t.details}">
  <a href="/console/tickets/${tk.number}"${tab === 'conversation' ? raw(' aria-current="page"') : ''} id="tab-conversation">${t.conversation}</a>
  <a href="/console/tickets/${tk.number}?tab=activity"${tab === 'activity' ? raw(' aria-current="page"') : ''} id="tab-activity">${t.activity}</a>
</nav>
${d.activity ? activityView(c, d.activity) : html`<section class="conversation" id="conversation" aria-label="${t.conversation}">${tk.entries.map((e) => entryView(c, tk.number, e))}</section>
${composer}`}
</div>
${actions}
</div>`, { page: 'ticket', data: { ticket: String(tk.number), me: v.id, csrf: v.csrf, 'presence-ms': String(d.presencePollMs) } });
}

// ------------------------------------------------------------------ admin

function adminNav(c: Chrome, current: string): Safe {
  const { t } = c;
  const items: [string, string][] = [['/console/admin', t.settings], ['/console/admin/templates', t.templates], ['/console/admin/people', t.people], ['/console/admin/rules', t.rules], ['/console/admin/channels', t.channels]];
  return html`<nav class="subnav" aria-label="${t.admin}">${items.map(([href, label]) => html`<a href="${href}"${href === current ? raw(' aria-current="page"') : ''}>${label}</a>`)}</nav>`;
}

export function settingsPage(c: Chrome, s: Settings): string {
  const { t } = c;
  const v = c.viewer!;
  return layout(c, t.settings, html`
<h1>${t.admin}</h1>${adminNav(c, '/console/admin')}
<h2>${t.settings}</h2>
<form method="post" action="/console/admin/settings" class="stack" id="settings">${csrfField(v)}
  <fieldset><legend>${t.defaultReplyType}</legend>
    <label class="radio"><input type="radio" name="defaultReplyType" value="reply"${s.defaultReplyType === 'reply' ? raw(' checked') : ''}> ${t.reply}</label>
    <label class="radio"><input type="radio" name="defaultReplyType" value="note"${s.defaultReplyType === 'note' ? raw(' checked') : ''}> ${t.note}</label>
  </fieldset>
  <label>${t.customStatuses}<textarea name="customStatuses" rows="4">${s.customStatuses.map((x) => `${x.name} = ${x.category}`).join('\n')}</textarea></label>
  <label class="radio"><input type="checkbox" name="aiMayReadNotes" value="1"${s.aiMayReadNotes ? raw(' checked') : ''}> ${t.aiMayReadNotes}</label>
  <button type="submit">${t.save}</button>
</form>`, { page: 'admin' });
}

export function templatesPage(c: Chrome, list: TemplateView[], opts: { editing?: TemplateView | null; preview?: string; name?: string; body?: string } = {}): string {
  const { t } = c;
  const v = c.viewer!;
  const e = opts.editing ?? null;
  return layout(c, t.templates, html`
<h1>${t.admin}</h1>${adminNav(c, '/console/admin/templates')}
<h2>${t.templates}</h2>
<ul class="plain" id="template-list">${list.map((x) => html`<li><strong>${x.name}</strong> <a href="/console/admin/templates?edit=${x.id}">${t.edit}</a>
  <form method="post" action="/console/admin/templates/${x.id}/delete" class="inline">${csrfField(v)}<button type="submit" class="link-danger">${t.delete} ${x.name}</button></form></li>`)}</ul>
<form method="post" action="${e ? `/console/admin/templates/${e.id}` : '/console/admin/templates'}" class="stack" id="template-form">${csrfField(v)}
  <label>${t.templateName}<input type="text" name="name" required maxlength="100" value="${opts.name ?? e?.name ?? ''}"></label>
  <label>${t.templateBody}<textarea name="body" rows="6" required>${opts.body ?? e?.body ?? ''}</textarea></label>
  <div class="row-inline"><button type="submit" name="op" value="preview" class="secondary" id="preview">${t.preview}</button><button type="submit" name="op" value="save">${e ? t.save : t.create}</button></div>
</form>
${opts.preview !== undefined ? html`<h3>${t.preview}</h3><div class="body text preview" id="preview-text">${opts.preview}</div>` : ''}`, { page: 'admin' });
}

export function peoplePage(c: Chrome, people: PersonView[]): string {
  const { t } = c;
  const v = c.viewer!;
  const roleName = (r: string) => (r === 'admin' ? t.adminRole : r === 'technician' ? t.technician : t.contact);
  return layout(c, t.people, html`
<h1>${t.admin}</h1>${adminNav(c, '/console/admin/people')}
<h2>${t.people}</h2>
<table class="plain-table" id="people"><thead><tr><th scope="col">${t.name}</th><th scope="col">${t.email}</th><th scope="col">${t.roles}</th><th scope="col">${t.customer}</th><th scope="col"></th></tr></thead>
<tbody>${people.map((p) => html`<tr><td>${p.name}</td><td>${p.email}</td><td>${p.roles.map(roleName).join(', ')}</td><td>${p.customer ?? ''}${p.customerAdmin ? html` <span class="badge customer-admin">${t.customerAdminMark}</span>` : ''}</td>
<td>${p.roles.includes('technician') && p.id !== v.id ? html`<form method="post" action="/console/admin/people/${p.id}/${p.roles.includes('admin') ? 'remove-admin' : 'make-admin'}" class="inline">${csrfField(v)}<button type="submit" class="secondary">${p.roles.includes('admin') ? t.removeAdmin : t.makeAdmin}</button></form>` : ''}
${p.roles.includes('contact') && p.customer ? html`<form method="post" action="/console/admin/people/${p.id}/customer-admin" class="inline customer-admin-toggle">${csrfField(v)}<input type="hidden" name="customerAdmin" value="${p.customerAdmin ? '0' : '1'}"><button type="submit" class="secondary" aria-label="${p.customerAdmin ? t.removeCustomerAdmin : t.makeCustomerAdmin}: ${p.email}">${p.customerAdmin ? t.removeCustomerAdmin : t.makeCustomerAdmin}</button></form>` : ''}</td></tr>`)}</tbody></table>
<h3>${t.addPerson}</h3>
<form method="post" action="/console/admin/people" class="row-inline" id="add-person">${csrfField(v)}
  <label>${t.email}<input type="email" name="email" required></label>
  <label>${t.name}<input type="text" name="name" maxlength="200"></label>
  <label>${t.roles}<select name="role"><option value="technician">${t.technician}</option><option value="admin">${t.adminRole}</option><option value="contact">${t.contact}</option></select></label>
  <label>${t.customer}<input type="text" name="customer" maxlength="200"></label>
  <button type="submit">${t.addPerson}</button>
</form>`, { page: 'admin' });
}

export interface RuleRow { id: string; name: string; enabled: boolean; trigger: string }

export function rulesPage(c: Chrome, rules: RuleRow[] | null): string {
  const { t } = c;
  const v = c.viewer!;
  return layout(c, t.rules, html`
<h1>${t.admin}</h1>${adminNav(c, '/console/admin/rules')}
<h2>${t.rules}</h2>
${rules === null ? html`<p>${t.notConfigured}</p>` : html`<table class="plain-table" id="rules"><thead><tr><th scope="col">${t.name}</th><th scope="col">${t.trigger}</th><th scope="col">${t.status}</th><th scope="col"></th></tr></thead>
<tbody>${rules.map((r) => html`<tr><td>${r.name}</td><td>${r.trigger}</td><td>${r.enabled ? t.enabled : t.disabled}</td>
<td><form method="post" action="/console/admin/rules/${r.id}" class="inline">${csrfField(v)}<input type="hidden" name="enabled" value="${r.enabled ? '0' : '1'}"><button type="submit" class="secondary">${r.enabled ? t.disable : t.enable} ${r.name}</button></form>
<a href="/console/admin/rules/${r.id}/edit" class="edit-rule">${t.edit} ${r.name}</a></td></tr>`)}</tbody></table>
<p><a href="/console/admin/rules/new" id="new-rule">${t.newRule}</a></p>`}`, { page: 'admin' });
}

export interface ChannelRow { name: string; configured: boolean; lastSuccess: Date | null; lastError: { at: Date; message: string } | null; howTo: string }
export interface MailLogRow { at: Date; from: string; subject: string; status: string; reason: string }

export function channelsPage(c: Chrome, channels: ChannelRow[], mail: MailLogRow[]): string {
  const { t } = c;
  return layout(c, t.channels, html`
<h1>${t.admin}</h1>${adminNav(c, '/console/admin/channels')}
<h2>${t.channels}</h2>
<table class="plain-table" id="channels"><thead><tr><th scope="col">${t.channels}</th><th scope="col">${t.status}</th><th scope="col">OK</th><th scope="col">${t.error}</th><th scope="col">${t.howToEnable}</th></tr></thead>
<tbody>${channels.map((ch) => html`<tr><td>${ch.name}</td><td>${ch.configured ? t.configured : t.notConfigured}</td>
<td>${ch.lastSuccess ? when(t, ch.lastSuccess) : '–'}</td><td>${ch.lastError ? html`${when(t, ch.lastError.at)}: ${ch.lastError.message}` : '–'}</td><td><code>${ch.howTo}</code></td></tr>`)}</tbody></table>
<h2>${t.mailLog}</h2>
${mail.length === 0 ? html`<p>${t.noMail}</p>` : html`<table class="plain-table" id="mail-log"><thead><tr><th scope="col">${t.when}</th><th scope="col">${t.from}</th><th scope="col">${t.subject}</th><th scope="col">${t.status}</th><th scope="col">${t.reason}</th></tr></thead>
<tbody>${mail.map((m) => html`<tr><td>${when(t, m.at)}</td><td>${m.from}</td><td>${m.subject}</td><td>${m.status}</td><td>${m.reason}</td></tr>`)}</tbody></table>`}`, { page: 'admin' });
}


// ------------------------------------------------------------------ rule editor

/**
 * What the rule form shows: a stored rule, or what was just submitted (loose, so a rejected
 * submission comes back exactly as typed). Field names follow the API's paths
 * (trigger.hours, conditions.0.value, actions.1.status) so validation problems land next to their field.
 */
export interface RuleDraft {
  name: string;
  enabled: boolean;
  trigger: Record<string, unknown>;
  conditions: { field: string; op: string; value: string | string[] }[];
  actions: Record<string, unknown>[];
}

export interface RuleFormChoices {
  triggerTypes: readonly string[];
  entryAuthors: readonly string[];
  entryKinds: readonly string[];
  changeFields: readonly string[];
  conditionFields: readonly string[];
  conditionOps: readonly string[];
  actionTypes: readonly string[];
  statuses: string[];
  priorities: readonly string[];
  ticketTypes: readonly string[];
  technicians: { email: string; name: string }[];
  templates: { id: string; name: string }[];
}

export interface RuleRunRow { at: Date; ticketNumber: number; outcome: 'ran' | 'failed'; cause: string | null; error: string | null }

/** Empty action rows offered below the filled ones (condition rows come with "Add condition"). */
const SPARE_ACTIONS = 1;

export function ruleEditPage(c: Chrome, d: {
  id: string | null; builtin: boolean; draft: RuleDraft; choices: RuleFormChoices; fieldErrors?: Record<string, string>; runs: RuleRunRow[] | null;
  /** Empty condition rows to show below the filled ones (one per "Add condition"). */
  spareConditions?: number;
}): string {
  const { t } = c;
  const v = c.viewer!;
  const ch = d.choices;
  const errs = d.fieldErrors ?? {};
  const fid = (name: string) => `f-${name.replace(/\./g, '-')}`;
  const err = (name: string) => (errs[name] ? html`<span class="field-error" id="err-${fid(name)}" role="alert">${errs[name]}</span>` : '');
  const described = (name: string) => (errs[name] ? raw(` aria-invalid="true" aria-describedby="err-${fid(name)}"`) : '');
  const str = (x: unknown) => (x === undefined || x === null ? '' : Array.isArray(x) ? x.join(', ') : String(x));
  // data-when: the trigger/action types a field belongs to; the script shows only the chosen type's (the server reads only those).
  const whenAttr = (types?: readonly string[]) => (types ? html` data-when="${types.join(' ')}"` : '');
  const select = (name: string, label: string, values: readonly string[], current: unknown, opts: { blank?: string; labels?: (v: string) => string; multiple?: boolean; when?: readonly string[] } = {}) => {
    const cur = Array.isArray(current) ? current.map(String) : [str(current)];
    return html`<label for="${fid(name)}"${whenAttr(opts.when)}>${label}<select id="${fid(name)}" name="${name}"${opts.multiple ? raw(' multiple') : ''}${described(name)}>
${opts.blank !== undefined ? html`<option value=""${cur.includes('') ? raw(' selected') : ''}>${opts.blank}</option>` : ''}${values.map((x) => html`<option value="${x}"${cur.includes(x) ? raw(' selected') : ''}>${opts.labels ? opts.labels(x) : x}</option>`)}</select>${err(name)}</label>`;
  };
  const input = (name: string, label: string, value: unknown, type = 'text', extra = '', when?: readonly string[]) =>
    html`<label for="${fid(name)}"${whenAttr(when)}>${label}<input id="${fid(name)}" type="${type}" name="${name}" value="${str(value)}"${raw(extra)}${described(name)}>${err(name)}</label>`;
  const tr = d.draft.trigger;
  const conditions = [...d.draft.conditions, ...Array.from({ length: d.spareConditions ?? 0 }, () => ({ field: '', op: 'equals', value: '' }))];
  const actions: Record<string, unknown>[] = [...d.draft.actions, ...Array.from({ length: SPARE_ACTIONS }, () => ({ type: '' }))];
  const techEmails = ch.technicians.map((x) => x.email);
  const techName = (email: string) => ch.technicians.find((x) => x.email === email)?.name || email;
  const templateName = (id: string) => ch.templates.find((x) => x.id === id)?.name ?? id;
  const action = d.id ? `/console/admin/rules/${d.id}/edit` : '/console/admin/rules';
  return layout(c, d.draft.name || t.newRule, html`
<h1>${t.admin}</h1>${adminNav(c, '/console/admin/rules')}
<h2>${d.id ? fill(t.editRule, { name: d.draft.name }) : t.newRule}</h2>
${errs['(form)'] ? html`<p class="error" role="alert">${errs['(form)']}</p>` : ''}
<form method="post" action="${action}" class="stack" id="rule-form" novalidate>${csrfField(v)}
  <button type="submit" class="sr-only" tabindex="-1" aria-hidden="true">${d.id ? t.save : t.create}</button>${/* Enter saves: the form's first submit button is its default, not "Add condition". */ ''}
  ${input('name', t.name, d.draft.name, 'text', ' maxlength="100" required')}
  <label class="radio"><input type="checkbox" name="enabled" value="1"${d.draft.enabled ? raw(' checked') : ''}> ${t.enabled}</label>
  <fieldset id="rule-trigger"><legend>${t.trigger}</legend>
    <p class="hint">${t.ruleTriggerHint}</p>
    ${select('trigger.type', t.triggerType, ch.triggerTypes, tr.type)}
    ${select('trigger.by', t.triggerBy, ch.entryAuthors, tr.by ?? 'any', { when: ['entry.added'] })}
    ${select('trigger.kind', t.triggerKind, ch.entryKinds, tr.kind, { blank: t.any, when: ['entry.added'] })}
    ${select('trigger.field', t.triggerField, ch.changeFields, tr.field, { when: ['field.changed'] })}
    ${input('trigger.to', t.triggerTo, tr.to, 'text', ' maxlength="254"', ['field.changed'])}
    ${select('trigger.status', t.status, ch.statuses, tr.status, { when: ['time.status'] })}
    ${input('trigger.hours', t.triggerHours, tr.hours, 'number', ' min="0" step="any"', ['time.status', 'time.noTechnicianReply'])}
    <label class="radio" data-when="time.status"><input type="checkbox" name="trigger.sinceLastReply" value="1"${tr.sinceLastReply ? raw(' checked') : ''}> ${t.triggerSinceLastReply}</label>
  </fieldset>
  <fieldset id="rule-conditions"><legend>${t.conditions}</legend>
    <p class="hint">${t.conditionsHint}</p>
    ${conditions.map((cd, i) => html`<div class="row-inline condition" data-index="${String(i)}">
      ${select(`conditions.${i}.field`, fill(t.conditionField, { n: String(i + 1) }), ch.conditionFields, cd.field, { blank: t.none })}
      ${select(`conditions.${i}.op`, t.conditionOp, ch.conditionOps, cd.op)}
      ${input(`conditions.${i}.value`, t.conditionValue, cd.value, 'text', ' maxlength="2000"')}
    </div>`)}
    <button type="submit" name="op" value="add-condition" class="secondary" id="add-condition" formnovalidate>${t.addCondition}</button>
  </fieldset>
  <fieldset id="rule-actions"><legend>${t.actions}</legend>
    <p class="hint">${t.actionsHint}</p>
    ${actions.map((a, i) => html`<div class="stack action" data-index="${String(i)}">
      ${select(`actions.${i}.type`, fill(t.actionType, { n: String(i + 1) }), ch.actionTypes, a.type, { blank: t.none })}
      <div class="row-inline">
      ${select(`actions.${i}.status`, t.status, ch.statuses, a.status, { when: ['setStatus'] })}
      ${select(`actions.${i}.priority`, t.priority, ch.priorities, a.priority, { when: ['setPriority'] })}
      ${select(`actions.${i}.ticketType`, t.type, ch.ticketTypes, a.ticketType, { when: ['setType'] })}
      ${select(`actions.${i}.assignee`, t.assignee, techEmails, a.assignee, { blank: t.unassigned, labels: techName, when: ['setAssignee'] })}
      ${select(`actions.${i}.technicians`, t.notifyWhom, techEmails, a.technicians ?? [], { multiple: true, labels: techName, when: ['notifyTechnicians'] })}
      ${select(`actions.${i}.templateId`, t.template, ch.templates.map((x) => x.id), a.templateId, { blank: t.noTemplate, labels: templateName, when: ['emailRequester'] })}
      </div>
      <label for="${fid(`actions.${i}.text`)}"${whenAttr(['addNote', 'notifyTechnicians', 'emailRequester'])}>${t.actionText}<textarea id="${fid(`actions.${i}.text`)}" name="actions.${i}.text" rows="2"${described(`actions.${i}.text`)}>${str(a.text ?? a.body)}</textarea>${err(`actions.${i}.text`)}</label>
    </div>`)}
  </fieldset>
  <div class="row-inline"><button type="submit">${d.id ? t.save : t.create}</button> <a href="/console/admin/rules">${t.cancel}</a></div>
</form>
${d.id && !d.builtin ? html`<form method="post" action="/console/admin/rules/${d.id}/delete" class="inline" id="rule-delete">${csrfField(v)}<button type="submit" class="link-danger">${t.delete} ${d.draft.name}</button></form>` : ''}
${d.runs === null ? '' : html`<h3 id="runs-heading">${t.recentRuns}</h3>
${d.runs.length === 0 ? html`<p id="no-runs">${t.noRuns}</p>` : html`<table class="plain-table" id="rule-runs" aria-labelledby="runs-heading"><thead><tr><th scope="col">${t.when}</th><th scope="col">${t.ruleTicket}</th><th scope="col">${t.outcome}</th><th scope="col">${t.cause}</th></tr></thead>
<tbody>${d.runs.map((r) => html`<tr data-ticket="${String(r.ticketNumber)}"><td>${when(t, r.at)}</td><td><a href="/console/tickets/${String(r.ticketNumber)}">#${String(r.ticketNumber)}</a></td><td>${r.outcome === 'ran' ? t.ruleRan : t.ruleFailed}</td><td>${r.error ?? r.cause ?? ''}</td></tr>`)}</tbody></table>`}`}`, { page: 'admin' });
}
