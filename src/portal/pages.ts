import type { ContactTicketView, EntryView, TicketSummary } from '../tickets/types.js';
import { fill, type Texts } from './i18n.js';
import { formatUtcDate, html, sanitizedEmailHtml, type Safe } from './html.js';

/** The portal's pages. Pure functions of their data; every form carries the CSRF token. */

export interface Chrome {
  t: Texts;
  /** Set when signed in. */
  user?: { name: string; csrf: string };
}

const when = (t: Texts, d: Date) => formatUtcDate(t.lang, d);

export function layout(c: Chrome, title: string, body: Safe): string {
  const { t, user } = c;
  return html`<!doctype html>
<html lang="${t.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ${t.portalTitle}</title>
<link rel="stylesheet" href="/portal/static/portal.css">
</head>
<body>
<header class="bar">
  <a class="brand" href="/portal">${t.portalTitle}</a>
  ${user ? html`<span class="who">${fill(t.signedInAs, { name: user.name })}</span>
  <form method="post" action="/portal/signout" class="inline">
    <input type="hidden" name="csrf" value="${user.csrf}">
    <button type="submit" class="link">${t.signOut}</button>
  </form>` : ''}
</header>
<main>
${body}
</main>
</body>
</html>`.value;
}

export function signinPage(c: Chrome, opts: { csrf: string; notice?: string; error?: string; email?: string }): string {
  const { t } = c;
  return layout(c, t.signinTitle, html`
<h1>${t.signinTitle}</h1>
${opts.notice ? html`<p class="notice" role="status">${opts.notice}</p>` : ''}
${opts.error ? html`<p class="error" role="alert">${opts.error}</p>` : ''}
<p>${t.signinIntro}</p>
<form method="post" action="/portal/signin" class="stack">
  <input type="hidden" name="csrf" value="${opts.csrf}">
  <label>${t.email}<input type="email" name="email" required autocomplete="email" value="${opts.email ?? ''}"></label>
  <button type="submit">${t.sendLink}</button>
</form>`);
}

/** Shown for GET /portal/login: redeeming needs a POST, so mail scanners that prefetch links don't use them up. */
export function confirmPage(c: Chrome, opts: { csrf: string; token: string }): string {
  const { t } = c;
  return layout(c, t.confirmTitle, html`
<h1>${t.confirmTitle}</h1>
<p>${t.confirmIntro}</p>
<form method="post" action="/portal/login" class="stack">
  <input type="hidden" name="csrf" value="${opts.csrf}">
  <input type="hidden" name="token" value="${opts.token}">
  <button type="submit" id="continue">${t.continue}</button>
</form>`);
}

export function messagePage(c: Chrome, title: string, message: string, link?: { href: string; label: string }): string {
  return layout(c, title, html`
<h1>${title}</h1>
<p class="error" role="alert">${message}</p>
${link ? html`<p><a href="${link.href}">${link.label}</a></p>` : ''}`);
}

export function listPage(c: Chrome & { user: { name: string; csrf: string } }, items: TicketSummary[], next: string | null): string {
  const { t } = c;
  const rows = items.map((s) => html`
<li class="ticket">
  <a href="/portal/tickets/${s.number}"><span class="num">#${s.number}</span> <span class="title">${s.title}</span></a>
  <span class="status">${s.status}</span>
  <span class="when" title="${t.lastUpdate}">${when(t, s.updatedAt)}</span>
  ${s.last ? html`<p class="excerpt"><span class="author">${s.last.author.name}:</span> ${s.last.excerpt}</p>` : ''}
</li>`);
  return layout(c, t.myTickets, html`
<div class="head"><h1>${t.myTickets}</h1><a class="button" href="/portal/new">${t.newTicket}</a></div>
${items.length === 0 ? html`<p>${t.noTickets}</p>` : html`<ul class="tickets">${rows}</ul>`}
${next ? html`<p><a href="/portal?cursor=${next}">${t.older}</a></p>` : ''}`);
}

function entryBody(e: EntryView): Safe {
  // Mail arrives with HTML; everything else (portal, chat, technicians' replies) is plain text.
  if (e.html && e.source === 'email') return html`<div class="body html">${sanitizedEmailHtml(e.html)}</div>`;
  return html`<div class="body text">${e.text}</div>`;
}

export function ticketPage(c: Chrome & { user: { name: string; csrf: string } }, v: ContactTicketView, opts: { error?: string } = {}): string {
  const { t, user } = c;
  const entries = v.entries.map((e) => html`
<article class="entry ${e.author.kind}" id="entry-${e.id}">
  <header><strong>${e.author.kind === 'technician' ? e.author.name || t.support : e.author.name}</strong> <time>${when(t, e.createdAt)}</time></header>
  ${entryBody(e)}
  ${e.truncated ? html`<p class="muted">${t.truncated}</p>` : ''}
  ${e.attachments.length ? html`<ul class="files">${e.attachments.map((a) => html`<li><a href="/portal/tickets/${v.number}/attachments/${a.id}">${a.filename}</a> <span class="muted">(${Math.ceil(a.size / 1024)} KB)</span></li>`)}</ul>` : ''}
</article>`);
  return layout(c, `#${v.number} ${v.title}`, html`
<p><a href="/portal">← ${t.back}</a></p>
<h1><span class="num">#${v.number}</span> ${v.title}</h1>
<p class="meta"><span class="status">${t.status}: ${v.status}</span>${v.assignee ? html` · ${v.assignee.name}` : ''}</p>
${v.mergedInto ? html`<p class="notice">${fill(t.mergedInto, { n: v.mergedInto })} <a href="/portal/tickets/${v.mergedInto}">#${v.mergedInto}</a></p>` : ''}
<h2>${t.conversation}</h2>
<section class="conversation">${entries}</section>
${v.mergedInto ? '' : html`
<h2>${t.reply}</h2>
${opts.error ? html`<p class="error" role="alert">${opts.error}</p>` : ''}
<form method="post" action="/portal/tickets/${v.number}/replies" enctype="multipart/form-data" class="stack" id="reply">
  <input type="hidden" name="csrf" value="${user.csrf}">
  <textarea name="text" rows="6" aria-label="${t.reply}"></textarea>
  <label>${t.attachments}<input type="file" name="files" multiple></label>
  <button type="submit">${t.send}</button>
</form>`}`);
}

export function newTicketPage(c: Chrome & { user: { name: string; csrf: string } }, opts: { error?: string; title?: string; description?: string } = {}): string {
  const { t, user } = c;
  return layout(c, t.newTicket, html`
<p><a href="/portal">← ${t.back}</a></p>
<h1>${t.newTicket}</h1>
${opts.error ? html`<p class="error" role="alert">${opts.error}</p>` : ''}
<form method="post" action="/portal/tickets" enctype="multipart/form-data" class="stack" id="new-ticket">
  <input type="hidden" name="csrf" value="${user.csrf}">
  <label>${t.subject}<input type="text" name="title" required maxlength="500" value="${opts.title ?? ''}"></label>
  <label>${t.description}<textarea name="description" rows="8">${opts.description ?? ''}</textarea></label>
  <label>${t.attachments}<input type="file" name="files" multiple></label>
  <button type="submit">${t.create}</button>
</form>`);
}

/** Served as a file so the CSP can forbid inline styles and scripts entirely. */
export const PORTAL_CSS = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2230;background:#f5f6f8}
.bar{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;padding:.75rem 1rem;background:#1d2a44;color:#fff}
.bar a{color:#fff;text-decoration:none;font-weight:600}
.who{margin-left:auto;opacity:.85;font-size:.9rem}
main{max-width:48rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.5rem 0 1rem;overflow-wrap:anywhere}
h2{font-size:1.1rem;margin-top:1.5rem}
.head{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:.5rem}
.stack{display:flex;flex-direction:column;gap:.75rem}
label{display:flex;flex-direction:column;gap:.25rem;font-weight:600}
input[type=email],input[type=text],textarea{font:inherit;padding:.5rem;border:1px solid #b8bfcc;border-radius:6px;width:100%}
button,.button{font:inherit;padding:.55rem 1rem;border:0;border-radius:6px;background:#2f5bd3;color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
button.link{background:none;padding:0;color:#fff;text-decoration:underline}
.inline{display:inline}
.tickets{list-style:none;padding:0;margin:0}
.ticket{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:.75rem;margin-bottom:.5rem;display:flex;flex-wrap:wrap;gap:.25rem .75rem}
.ticket a{flex:1 1 100%;font-weight:600;color:#1d2a44;text-decoration:none;overflow-wrap:anywhere}
.status{background:#e8edf9;border-radius:999px;padding:0 .6rem;font-size:.85rem}
.when,.muted{color:#5b6475;font-size:.85rem}
.excerpt{flex:1 1 100%;margin:0;color:#394150;overflow-wrap:anywhere}
.entry{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:.75rem;margin-bottom:.75rem}
.entry.technician{border-left:4px solid #2f5bd3}
.entry.system{background:#f0f1f4}
.entry header{display:flex;flex-wrap:wrap;gap:.5rem;justify-content:space-between;font-size:.9rem}
.body.text{white-space:pre-wrap;overflow-wrap:anywhere}
.body.html{overflow-wrap:anywhere;overflow-x:auto}
.notice{background:#e7f6ec;border:1px solid #b7e0c4;padding:.5rem .75rem;border-radius:6px}
.error{background:#fdecec;border:1px solid #f2b8b8;padding:.5rem .75rem;border-radius:6px}
.files{padding-left:1.2rem}
@media (max-width:480px){main{padding:.75rem}h1{font-size:1.2rem}}
`;
